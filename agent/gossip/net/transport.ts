/**
 * The real network: UDP packets and TCP streams on one `host:port` (memberlist's net_transport.go,
 * learnt from). A stream carries one length-prefixed frame each way: the request, then the reply.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { NomadError } from '../../core/lib/index.js';
import type { Transport, TransportHandlers } from '../core/index.js';

/** Largest stream frame accepted (a push-pull of a very large cluster stays far below). */
export const MAX_FRAME = 32 * 1024 * 1024;

export interface NetTransportOptions {
  /** Address to bind (default 127.0.0.1). */
  bindAddr?: string;
  /** Port for both UDP and TCP; 0 picks a free one (default 0). */
  port?: number;
  /** Address others reach this member at, when it differs from the bind address (NAT, 0.0.0.0). */
  advertiseAddr?: string;
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port > 0 && port < 65536)) throw new NomadError('invalid_argument', `address must be host:port, got "${addr}"`, { field: 'addr' });
  return { host: m[1]!, port };
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Bind UDP and TCP on the same port. */
export async function listenNet(o: NetTransportOptions = {}): Promise<NetTransport> {
  const host = o.bindAddr ?? '127.0.0.1';
  let lastErr: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(o.port ?? 0, host, () => { tcp.off('error', reject); resolve(); });
    });
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => { udp.off('error', reject); resolve(); });
      });
      const adv = o.advertiseAddr ?? joinHostPort(host === '0.0.0.0' ? '127.0.0.1' : host, port);
      return new NetTransport(adv, udp, tcp);
    } catch (err) {
      lastErr = err;
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
      if ((o.port ?? 0) !== 0) break; // a fixed port: no point retrying
    }
  }
  throw new NomadError('unavailable', `cannot bind gossip UDP and TCP on ${host}:${o.port ?? 0}: ${String(lastErr)}`);
}

/** Read one length-prefixed frame from `sock`; `done` once with the frame or an Error. */
function readFrame(sock: Socket, done: (r: Uint8Array | Error) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (r: Uint8Array | Error): void => {
    if (finished) return;
    finished = true;
    sock.off('data', onData);
    done(r);
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (buf.length < 4) return;
    const len = buf.readUInt32BE(0);
    if (len > MAX_FRAME) { finish(new Error(`frame of ${len} bytes is over the limit`)); sock.destroy(); return; }
    if (buf.length >= 4 + len) finish(new Uint8Array(buf.subarray(4, 4 + len)));
  };
  sock.on('data', onData);
  sock.on('error', (e) => finish(e));
  sock.on('close', () => finish(new Error('stream closed before a full frame')));
}

function frame(data: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length, 0);
  return Buffer.concat([head, data]);
}

export class NetTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private readonly open = new Set<Socket>();
  private closed = false;

  constructor(readonly addr: string, private readonly udp: UdpSocket, private readonly tcp: Server) {
    udp.on('message', (msg, rinfo) => {
      this.handlers?.packet(joinHostPort(rinfo.address, rinfo.port), new Uint8Array(msg));
    });
    udp.on('error', () => undefined); // ICMP errors for dead peers: the protocol's timeouts handle them
    tcp.on('connection', (sock) => this.accept(sock));
  }

  listen(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  sendPacket(to: string, data: Uint8Array): void {
    if (this.closed) return;
    let dst: { host: string; port: number };
    try { dst = splitHostPort(to); } catch { return; }
    this.udp.send(data, dst.port, dst.host, () => undefined);
  }

  request(to: string, data: Uint8Array, timeoutMs: number, done: (result: Uint8Array | Error) => void): void {
    if (this.closed) { done(new Error('transport closed')); return; }
    let dst: { host: string; port: number };
    try { dst = splitHostPort(to); } catch (err) { done(err as Error); return; }
    const sock = connect(dst.port, dst.host);
    this.open.add(sock);
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`stream to ${to} timed out`)));
    readFrame(sock, (r) => {
      this.open.delete(sock);
      sock.destroy();
      done(r);
    });
    sock.write(frame(data));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers = undefined;
    this.udp.close();
    this.tcp.close();
    for (const s of this.open) s.destroy();
    this.open.clear();
  }

  private accept(sock: Socket): void {
    this.open.add(sock);
    sock.setTimeout(30_000, () => sock.destroy());
    sock.on('close', () => this.open.delete(sock));
    readFrame(sock, (r) => {
      if (r instanceof Error || this.handlers === undefined) { sock.destroy(); return; }
      let replied = false;
      this.handlers.stream(joinHostPort(sock.remoteAddress ?? '?', sock.remotePort ?? 0), r, (reply) => {
        if (replied) return;
        replied = true;
        sock.end(frame(reply));
      });
      if (!replied) sock.end();
    });
  }
}
