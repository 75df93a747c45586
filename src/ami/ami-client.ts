import createManager from 'asterisk-manager';

/**
 * A small promise-based AMI client over asterisk-manager. Every action has a deadline: the
 * library holds actions while it is (re)connecting and would otherwise never answer them.
 */
export interface AmiClient {
  action(fields: Record<string, string>, timeoutMs?: number): Promise<Record<string, unknown>>;
  connected(): boolean;
  close(): void;
}

export interface AmiOptions {
  host: string;
  port: number;
  user: string;
  secret: string;
  onError?: (err: Error) => void;
}

export function createAmiClient(opts: AmiOptions): AmiClient {
  const ami = createManager(opts.port, opts.host, opts.user, opts.secret, false);
  ami.keepConnected();
  ami.on('error', (err: Error) => opts.onError?.(err));
  return {
    action(fields, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `AMI ${opts.host}:${opts.port} did not answer ${fields.Action ?? ''} within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
        ami.action(fields, (err, res) => {
          clearTimeout(timer);
          if (err) reject(new Error(`AMI ${fields.Action ?? ''} failed: ${String(err.message ?? 'error')}`));
          else resolve(res);
        });
      });
    },
    connected: () => ami.isConnected(),
    close: () => ami.disconnect(),
  };
}
