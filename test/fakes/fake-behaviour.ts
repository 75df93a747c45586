/** How a fake dependency answers: normally, by failing, or never (to exercise deadlines). */
export type Behaviour = 'ok' | 'fail' | 'hang';

/** Applies a behaviour before a fake answers: throws for 'fail', never settles for 'hang'. */
export async function behave(behaviour: Behaviour, what: string): Promise<void> {
  if (behaviour === 'fail') throw new Error(`${what}: connection refused`);
  if (behaviour === 'hang') await new Promise<never>(() => undefined);
}
