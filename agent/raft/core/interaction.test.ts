/**
 * Data-driven scenarios (after etcd-io/raft's interaction tests): each file in testdata/ is a
 * series of blocks, a command line, a `----` line, then the expected output, blocks separated
 * by a blank line ('#' lines before a command are comments). `REWRITE=1 npx vitest run
 * agent/raft/core/interaction.test.ts` rewrites the expected outputs from what the code does.
 *
 * Commands:
 *   add-nodes <id>... [voters=a,b] [learners=c] [prevote=bool] [checkquorum=bool] [chunk=N] [lag=N] [maxsize=N] [defercommit=bool]
 *   campaign <id> | tick <id> [n] | tick-election <id> | tick-heartbeat <id> | stabilize
 *   propose <id> <data> | propose-conf-change <id> add-voter|add-learner|remove <target>
 *   transfer-leadership <id> <target> | read-index <id> <ctx> | compact <id>
 *   isolate <id> | heal | status | progress <id> | log <id>
 *   connection-lost <id> <peer>   (the driver of <id> saw its connection to <peer> break)
 *   flush-commit <id>             (deferCommitBroadcast: the driver's flush timer fired)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NomadError } from '../../core/lib/index.js';
import { formatEntry } from './format.js';
import { TestCluster } from './testkit.js';
import type { NodeOptions } from './testkit.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const rewrite = process.env.REWRITE === '1';

interface Block {
  comments: string[];
  command: string;
  expected: string[];
}

function parse(text: string, file: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && (lines[i]!.trim() === '' || lines[i]!.startsWith('#'))) {
      if (lines[i]!.startsWith('#')) comments.push(lines[i]!);
      i++;
    }
    if (i >= lines.length) break;
    const command = lines[i++]!;
    if (lines[i] !== '----') throw new Error(`${file}:${i + 1}: expected ---- after the command ${JSON.stringify(command)}`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== '') expected.push(lines[i++]!);
    blocks.push({ comments, command, expected });
  }
  return blocks;
}

function render(blocks: Block[]): string {
  return blocks.map((b) => [...b.comments, b.command, '----', ...b.expected].join('\n')).join('\n\n') + '\n';
}

function flags(args: string[]): { pos: string[]; kv: Map<string, string> } {
  const pos: string[] = [];
  const kv = new Map<string, string>();
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) kv.set(a.slice(0, eq), a.slice(eq + 1));
    else pos.push(a);
  }
  return { pos, kv };
}

function list(v: string | undefined): string[] {
  return v === undefined || v === '' ? [] : v.split(',');
}

function errLine(r: unknown): string[] {
  return r instanceof NomadError ? [`error ${r.code}: ${r.message}`] : [];
}

function run(c: TestCluster, command: string): string[] {
  const [cmd, ...args] = command.trim().split(/\s+/);
  const { pos, kv } = flags(args);
  const id = pos[0] ?? '';
  const out: string[] = [];
  switch (cmd) {
    case 'add-nodes': {
      const opts: NodeOptions = {
        preVote: kv.get('prevote') !== 'false',
        checkQuorum: kv.get('checkquorum') !== 'false',
        electionTick: 10,
        heartbeatTick: 1,
        ...(kv.has('chunk') ? { snapshotChunkSize: Number(kv.get('chunk')) } : {}),
        ...(kv.has('lag') ? { learnerPromotionLag: Number(kv.get('lag')) } : {}),
        ...(kv.has('maxsize') ? { maxSizePerMsg: Number(kv.get('maxsize')) } : {}),
        ...(kv.get('defercommit') === 'true' ? { deferCommitBroadcast: true } : {}),
      };
      const voters = kv.has('voters') ? list(kv.get('voters')) : pos;
      const learners = list(kv.get('learners'));
      for (const n of pos) c.add(n, voters, learners, opts);
      out.push(...statusLines(c, pos));
      break;
    }
    case 'campaign':
      c.node(id).rn.campaign();
      break;
    case 'tick':
      c.tick(id, Number(pos[1] ?? 1));
      break;
    case 'tick-election':
      c.tick(id, 20);
      break;
    case 'tick-heartbeat':
      c.tick(id, 1);
      break;
    case 'stabilize':
      c.stabilize();
      break;
    case 'propose': {
      const r = c.propose(id, pos[1] ?? '');
      out.push(...(r instanceof NomadError ? errLine(r) : [`proposed at ${r.term}/${r.index}`]));
      break;
    }
    case 'propose-conf-change': {
      const r = c.node(id).rn.proposeConfChange({ type: pos[1] as 'add-voter' | 'add-learner' | 'remove', id: pos[2] ?? '' });
      out.push(...(r instanceof NomadError ? errLine(r) : [`proposed at ${r.term}/${r.index}`]));
      break;
    }
    case 'transfer-leadership':
      out.push(...errLine(c.node(id).rn.transferLeader(pos[1] ?? '')));
      break;
    case 'read-index':
      out.push(...errLine(c.node(id).rn.readIndex(pos[1] ?? '')));
      break;
    case 'compact':
      c.compact(id);
      break;
    case 'isolate':
      c.isolate(id);
      break;
    case 'flush-commit':
      out.push(`commit pending: ${c.node(id).rn.commitPending()}`);
      c.node(id).rn.flushCommit();
      break;
    case 'connection-lost':
      c.node(id).rn.connectionLost(pos[1] ?? '');
      break;
    case 'heal':
      c.heal();
      break;
    case 'status':
      out.push(...statusLines(c, [...c.nodes.keys()].sort()));
      break;
    case 'progress':
      for (const p of c.node(id).rn.status().progress) {
        out.push(`${p.id}: ${p.voter ? 'voter' : 'learner'} ${p.state} match=${p.match} next=${p.next} lag=${p.lag}${p.recentActive ? '' : ' inactive'}`);
      }
      break;
    case 'log': {
      const s = c.node(id).storage;
      const snap = s.snapshot().meta;
      if (snap.index > 0) out.push(`snapshot ${snap.term}/${snap.index}`);
      if (s.lastIndex() >= s.firstIndex()) for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)) out.push(formatEntry(e));
      break;
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd)}`);
  }
  const events = c.takeOutput();
  const all = [...events, ...out];
  return all.length > 0 ? all : ['ok'];
}

function statusLines(c: TestCluster, ids: string[]): string[] {
  return ids.map((id) => {
    const s = c.node(id).rn.status();
    const learners = s.conf.learners.length > 0 ? ` learners=[${s.conf.learners.join(',')}]` : '';
    return `${id}: ${s.role} term=${s.term} leader=${s.leader || 'none'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} voters=[${s.conf.voters.join(',')}]${learners}`;
  });
}

const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe('raft scenarios (testdata/*.txt)', () => {
  it('has the scenarios the issue asks for', () => {
    expect(files).toEqual(expect.arrayContaining(['campaign.txt', 'prevote.txt', 'checkquorum.txt', 'transfer.txt', 'snapshot.txt', 'membership.txt']));
  });

  for (const file of files) {
    it(file.replace(/\.txt$/, ''), () => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      const blocks = parse(text, file);
      const c = new TestCluster(1);
      const got = blocks.map((b) => ({ ...b, expected: run(c, b.command) }));
      const rendered = render(got);
      if (rewrite) writeFileSync(path, rendered);
      else expect(rendered).toBe(text);
    });
  }
});
