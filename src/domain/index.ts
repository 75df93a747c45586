/** The types every part of pinverify shares: flows, the verification service, the store, ops, HTTP. */
export * from './call-outcome';
export * from './contact';
export * from './delivery-channel';
export * from './pin';
export * from './reason';
export * from './route';
export * from './settings';
export * from './verification';
export * from './profile';
