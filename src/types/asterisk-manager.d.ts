// asterisk-manager ships no types; this declares the part pinverify uses.
declare module 'asterisk-manager' {
  import { EventEmitter } from 'node:events';
  interface AmiResponse {
    response?: string;
    message?: string;
    [key: string]: unknown;
  }
  interface Manager extends EventEmitter {
    keepConnected(): void;
    isConnected(): boolean;
    disconnect(cb?: () => void): void;
    action(
      action: Record<string, string | number | undefined>,
      cb?: (err: AmiResponse | undefined, res: AmiResponse) => void,
    ): string;
  }
  function createManager(port: number, host: string, user: string, secret: string, events: boolean): Manager;
  export = createManager;
}
