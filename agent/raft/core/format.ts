/** One-line descriptions of messages and entries (scenario scripts, simulation traces). */
import { decodeConfChange } from './confchange.js';
import type { Entry, Message } from './types.js';

const dec = new TextDecoder();

export function formatEntry(e: Entry): string {
  if (e.type === 'conf-change') {
    try {
      const cc = decodeConfChange(e.data);
      const promoting = cc.conf.promoting?.length ? ` promoting=[${cc.conf.promoting.join(',')}]` : '';
      return `${e.term}/${e.index} conf-change ${cc.type} ${cc.id} -> voters=[${cc.conf.voters.join(',')}] learners=[${cc.conf.learners.join(',')}]${promoting}`;
    } catch {
      // fall through: show the raw data
    }
  }
  const data = e.type === 'noop' ? '' : ` ${JSON.stringify(dec.decode(e.data))}`;
  return `${e.term}/${e.index} ${e.type}${data}`;
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'app':
      return `${head} prev=${m.logTerm}/${m.index} commit=${m.commit} entries=[${m.entries.map(formatEntry).join(', ')}]`;
    case 'app-resp':
      return m.reject ? `${head} reject index=${m.index} hint=${m.logTerm}/${m.rejectHint}` : `${head} index=${m.index}`;
    case 'vote':
    case 'prevote':
      return `${head} last=${m.logTerm}/${m.index}${m.transfer ? ' transfer' : ''}`;
    case 'vote-resp':
    case 'prevote-resp':
      return `${head}${m.reject ? ' reject' : ''}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.ctx ? ` ctx=${m.ctx}` : ''}`;
    case 'heartbeat-resp':
      return `${head}${m.ctx ? ` ctx=${m.ctx}` : ''}`;
    case 'snap':
      return `${head} snap=${m.meta.term}/${m.meta.index} voters=[${m.meta.conf.voters.join(',')}] offset=${m.offset} len=${m.chunk.length}${m.done ? ' done' : ''}`;
    case 'snap-resp':
      return `${head} snap=${m.index} offset=${m.offset}${m.reject ? ' reject' : ''}`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head} ctx=${m.ctx}`;
    case 'read-index-resp':
      return `${head} ctx=${m.ctx} index=${m.index}${m.reject ? ' reject' : ''}`;
    case 'transfer-leader':
      return `${head} target=${m.target}`;
  }
}
