import type { ResultPublisher } from '../../src/flow/ports';
import type { CallOutcome } from '../../src/domain';
import { behave, type Behaviour } from './fake-behaviour';

export type PublishedOutcome = CallOutcome & { channelId: string; callId: string };

export class FakeResultPublisher implements ResultPublisher {
  behaviour: Behaviour = 'ok';
  readonly published: PublishedOutcome[] = [];

  async publish(outcome: PublishedOutcome): Promise<void> {
    await behave(this.behaviour, 'publish');
    this.published.push(outcome);
  }
}
