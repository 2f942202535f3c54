/**
 * Render tests: the console at 80x24 and larger, driven by keys through stdin. Every frame must
 * fit the terminal (no line wider, no more lines than rows - 1: a taller frame scrolls and
 * flickers), and show what the operator needs.
 */
import React from 'react';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { App, TopStore } from './index.js';
import type { OperatorAction } from './index.js';
import { sample } from './testing/index.js';

/** A store that draws at once (no frame timer) so frames follow keys in the test. */
function storeFor(cols: number, rows: number, readOnly = false): { store: TopStore; ids: ReturnType<typeof sample>['ids'] } {
  const { state, ids } = sample({ cols, rows, readOnly });
  const store = new TopStore(state, { scheduler: { setTimeout: (fn) => { fn(); return undefined; }, clearTimeout: () => undefined } });
  return { store, ids };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

function frameLines(frame: string | undefined): string[] {
  return (frame ?? '').split('\n');
}

function expectFits(frame: string | undefined, cols: number, rows: number): void {
  const lines = frameLines(frame);
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  // eslint-disable-next-line no-control-regex
  for (const l of lines) expect(l.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(cols);
}

describe('nomadts top', () => {
  it.each([
    [80, 24],
    [120, 40],
  ])('fits a %ix%i terminal on every panel', async (cols, rows) => {
    const { store } = storeFor(cols, rows);
    const ui = render(<App store={store} onRun={() => undefined} onQuit={() => undefined} />);
    for (const key of ['1', '2', '3', '4', '5', '?']) {
      ui.stdin.write(key);
      await tick();
      expectFits(ui.lastFrame(), cols, rows);
    }
    ui.unmount();
  });

  it('shows the evaluation timeline with the worker, the step times and the top node scores', async () => {
    const { store } = storeFor(140, 40);
    const ui = render(<App store={store} onRun={() => undefined} onQuit={() => undefined} />);
    await tick();
    const frame = ui.lastFrame() ?? '';
    expect(frame).toContain('4 Evaluations');
    expect(frame).toContain('created → enqueued → dequeued(worker-0) → plan → applied → acked → complete');
    expect(frame).toMatch(/12:00:00\.012 +\+2ms +applied — 2 placed, 0 stopped/);
    expect(frame).toMatch(/11111111 0\.710 +\(binpack 0\.420, job-anti-affinity 0\.000\)/);
    ui.unmount();
  });

  it('shows nodes with allocation bars and the leader in the header; follows a resize', async () => {
    const { store } = storeFor(80, 24);
    const ui = render(<App store={store} onRun={() => undefined} onQuit={() => undefined} />);
    ui.stdin.write('2');
    await tick();
    let frame = ui.lastFrame() ?? '';
    expect(frame).toContain('leader server-1 term 2');
    expect(frame).toMatch(/client-1 +ready +yes +- +[▒·]+/);
    store.dispatch({ type: 'resize', cols: 100, rows: 30 });
    await tick();
    frame = ui.lastFrame() ?? '';
    expectFits(frame, 100, 30);
    expect(frameLines(frame).length).toBe(29);
    ui.unmount();
  });

  it('drains a node by keys: deadline prompt, confirmation with the command line, then the action runs', async () => {
    const { store, ids } = storeFor(80, 24);
    const ran: OperatorAction[] = [];
    const ui = render(<App store={store} onRun={(a) => ran.push(a)} onQuit={() => undefined} />);
    for (const k of ['2', 'd']) {
      ui.stdin.write(k);
      await tick();
    }
    expect(ui.lastFrame()).toContain('deadline: 1h');
    ui.stdin.write('\r');
    await tick();
    // The command line is wrapped to the dialog's width, never cut.
    expect((ui.lastFrame() ?? '').replace(/│\n│/g, '').replace(/\s+/g, '')).toContain(`$nomadtsnodedrain-enable-deadline1h${ids.node1}`);
    ui.stdin.write('y');
    await tick();
    expect(ran).toEqual([{ kind: 'drain', nodeId: ids.node1, nodeName: 'client-1', deadline: '1h' }]);
    ui.unmount();
  });

  it('quits on q and in read-only mode marks actions disabled in the help', async () => {
    const { store } = storeFor(80, 24, true);
    let quit = 0;
    const ui = render(<App store={store} onRun={() => undefined} onQuit={() => quit++} />);
    ui.stdin.write('?');
    await tick();
    expect(ui.lastFrame()).toMatch(/d +\[disabled\] drain the selected node/);
    expect(ui.lastFrame()).toContain('[read-only]');
    ui.stdin.write('x'); // any key closes the help
    await tick();
    ui.stdin.write('q');
    await tick();
    expect(quit).toBe(1);
    ui.unmount();
  });
});
