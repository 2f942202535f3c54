import { describe, expect, it } from 'vitest';
import { NomadError } from '../../agent/core/lib/index.js';
import { formatEvent, parseAgentArgs, runAgent } from './agent.js';

function capture(): { out: { stdout: (s: string) => void; stderr: (s: string) => void }; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return { out: { stdout: (s) => { o += s; }, stderr: (s) => { e += s; } }, stdout: () => o, stderr: () => e };
}

describe('nomadts agent flags', () => {
  it('defaults to 127.0.0.1:4647 in region global with a temporary data dir', () => {
    expect(parseAgentArgs(['-dev'])).toEqual({ dev: true, bindAddr: '127.0.0.1', rpcPort: 4647, region: 'global' });
  });
  it('reads -data-dir, -bind, -rpc-port and -region in both spellings', () => {
    expect(parseAgentArgs(['--dev', '-data-dir', '/d', '-bind=0.0.0.0', '-rpc-port', '0', '--region=eu'])).toEqual({
      dev: true, dataDir: '/d', bindAddr: '0.0.0.0', rpcPort: 0, region: 'eu',
    });
  });
  it('refuses a bad port, an unknown flag and stray arguments with a sentence', () => {
    for (const [args, msg] of [
      [['-dev', '-rpc-port', '70000'], '-rpc-port must be a port number (0 picks a free one), got "70000"'],
      [['-dev', '-rpc-port', '-1'], '-rpc-port must be a port number (0 picks a free one), got "-1"'],
      [['-dev', '-rpc-port', 'x'], '-rpc-port must be a port number (0 picks a free one), got "x"'],
      [['-dev', '-server'], 'unknown flag -server'],
      [['-dev', 'extra'], 'unexpected argument extra'],
      [['-dev', '-address', 'x:1'], 'unknown flag -address (the agent listens on -bind and -rpc-port)'],
    ] as const) {
      let err: unknown;
      try {
        parseAgentArgs(args);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NomadError);
      expect((err as NomadError).message).toBe(msg);
    }
  });
});

describe('nomadts agent without -dev', () => {
  it('exits 1 saying only dev mode exists', async () => {
    const c = capture();
    expect(await runAgent([], c.out, () => Promise.resolve('test'))).toBe(1);
    expect(c.stderr()).toBe('Error: only dev mode exists for now: run `nomadts agent -dev` (a server and a client in one process).\n');
    expect(c.stdout()).toBe('');
  });
  it('exits 1 on a bad flag before starting anything', async () => {
    const c = capture();
    expect(await runAgent(['-dev', '-rpc-port', 'nope'], c.out, () => Promise.resolve('test'))).toBe(1);
    expect(c.stderr()).toMatch(/^Error: -rpc-port must be a port number/);
  });
});

describe('agent log lines', () => {
  it('names the event, the short id and the state', () => {
    expect(formatEvent({ kind: 'alloc-status', allocId: '0123456789abcdef', name: 'web.web[0]', status: 'running', description: 'Tasks are running' })).toBe(
      '[INFO]  client: alloc 01234567 web.web[0] is running: Tasks are running',
    );
    expect(formatEvent({ kind: 'eval-complete', evalId: 'abcdef0123', jobId: 'web', triggeredBy: 'job-register', status: 'complete', placements: 2 })).toBe(
      '[INFO]  server: eval abcdef01 complete: job=web triggered_by=job-register placements=2',
    );
    expect(formatEvent({ kind: 'error', what: 'watch', message: 'boom' })).toBe('[WARN]  agent: watch: boom');
  });
});
