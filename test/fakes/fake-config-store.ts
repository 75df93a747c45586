import type { ConfigStore } from '../../src/flow/ports';
import type { FlowSettings, Route } from '../../src/domain';
import { DEFAULT_SETTINGS } from '../../src/store/config-defaults';
import { behave, type Behaviour } from './fake-behaviour';

export class FakeConfigStore implements ConfigStore {
  settingsBehaviour: Behaviour = 'ok';
  routeBehaviour: Behaviour = 'ok';
  readonly settings: FlowSettings;

  constructor(
    settings: Partial<FlowSettings> = {},
    readonly routes: Route[] = [],
  ) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  async getSettings(): Promise<FlowSettings> {
    await behave(this.settingsBehaviour, 'getSettings');
    return { ...this.settings };
  }

  async findRoute(previousHop: string): Promise<Route | null> {
    await behave(this.routeBehaviour, 'findRoute');
    return this.routes.find((r) => r.enabled && r.previousHop === previousHop) ?? null;
  }
}
