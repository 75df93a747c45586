import { amiSettings } from '../../../src/cli/cli-env';

describe('amiSettings: the CLI picks its own least-rights AMI user when it has one', () => {
  test.each([
    [
      { AMI_USER: 'app', AMI_SECRET: 's1' },
      { user: 'app', secret: 's1' },
    ],
    [
      { AMI_USER: 'app', AMI_SECRET: 's1', AMI_CLI_USER: 'cli', AMI_CLI_SECRET: 's2' },
      { user: 'cli', secret: 's2' },
    ],
    // Half a CLI user is not one: the app's is used.
    [
      { AMI_USER: 'app', AMI_SECRET: 's1', AMI_CLI_USER: 'cli' },
      { user: 'app', secret: 's1' },
    ],
  ])('%j', (env, want) => {
    expect(amiSettings(env)).toEqual({ host: '127.0.0.1', port: 5038, ...want });
  });

  test('names what is missing', () => {
    expect(amiSettings({})).toBe('AMI_USER and AMI_SECRET not set');
    expect(amiSettings({ AMI_USER: 'a', AMI_SECRET: 'b', AMI_PORT: '99999' })).toBe(
      'AMI_PORT 99999 is not a port number',
    );
  });
});
