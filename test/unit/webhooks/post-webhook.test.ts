import { postWebhook } from '../../../src/webhooks/post-webhook';

function answering(status: number): typeof fetch {
  return async () => new Response(status === 204 ? null : 'body', { status });
}

const input = {
  url: 'https://receiver.example/hooks',
  headers: { 'content-type': 'application/json' },
  body: '{}',
};

describe('postWebhook', () => {
  test.each<[number, boolean]>([
    [200, true],
    [204, true],
    [299, true],
    [302, false],
    [400, false],
    [410, false],
    [503, false],
  ])('HTTP %i -> delivered %s', async (status, ok) => {
    const r = await postWebhook({ ...input, fetch: answering(status) });
    expect(r).toEqual({ ok, status, error: ok ? null : `HTTP ${status}` });
  });

  it('posts the body with the headers and does not follow redirects', async () => {
    let seen: RequestInit | undefined;
    const fetchSpy = (async (_url: string, init?: RequestInit) => {
      seen = init;
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    await postWebhook({ ...input, fetch: fetchSpy });
    expect(seen).toMatchObject({ method: 'POST', body: '{}', redirect: 'manual', headers: input.headers });
  });

  it('names a connection error', async () => {
    const refused = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    expect(await postWebhook({ ...input, fetch: refused })).toEqual({
      ok: false,
      status: null,
      error: 'could not connect (ECONNREFUSED)',
    });
  });

  it('gives up at its deadline', async () => {
    const silent = ((_url: string, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      })) as typeof fetch;
    const started = Date.now();
    expect(await postWebhook({ ...input, fetch: silent, timeoutMs: 50 })).toEqual({
      ok: false,
      status: null,
      error: 'timed out after 50 ms',
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
