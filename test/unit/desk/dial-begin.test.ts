/**
 * Which extensions a DialBegin rings and which channels it belongs to, for the Dial() lines ops
 * write: the lab's (an endpoint with a SIP URI), plain PJSIP phones, FreePBX queues through
 * Local channels, and several phones at once.
 */
import { parseDialBegin } from '../../../src/desk/dial-begin';

describe('parseDialBegin', () => {
  it.each([
    [
      'lab: endpoint with a SIP URI',
      {
        uniqueid: '1700.1',
        linkedid: '1700.1',
        exten: '2001',
        dialstring: 'lab-agents/sip:2001@127.0.0.1:5080',
        destchannel: 'PJSIP/lab-agents-0000001a',
        destexten: 's',
      },
      ['1700.1'],
      ['2001', 'lab-agents'],
    ],
    [
      'plain PJSIP phone',
      {
        uniqueid: 'a',
        linkedid: 'a',
        exten: '2001',
        dialstring: '2001',
        destchannel: 'PJSIP/2001-00000003',
        destexten: '2001',
      },
      ['a'],
      ['2001'],
    ],
    [
      'FreePBX queue member through a Local channel',
      {
        uniqueid: 'local2',
        linkedid: 'caller1',
        exten: '2901',
        dialstring: '2001@from-queue/n',
        destchannel: 'Local/2001@from-queue-00000004;1',
      },
      ['local2', 'caller1'],
      ['2901', '2001'],
    ],
    [
      'ring group: several phones',
      {
        uniqueid: 'b',
        linkedid: 'b',
        exten: '2900',
        dialstring: 'PJSIP/2001&PJSIP/2002',
        destchannel: 'PJSIP/2002-00000005',
      },
      ['b'],
      ['2900', '2001', '2002'],
    ],
  ])('%s', (_name, event, ids, extensions) => {
    const d = parseDialBegin(event);
    expect(d?.channelIds).toEqual(ids);
    expect(new Set(d?.extensions)).toEqual(new Set(extensions));
  });

  it('ignores an event without channel ids and the "s" extension', () => {
    expect(parseDialBegin({ exten: '2001' })).toBeNull();
    expect(parseDialBegin({ uniqueid: 'x', exten: 's', dialstring: '' })?.extensions).toEqual([]);
  });
});
