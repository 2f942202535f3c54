/**
 * The grpc-js settings and trailer keys shared by the server (agent/rpc-server) and the
 * clients here. Kept apart so the API client never loads the server side.
 */
import * as grpc from '@grpc/grpc-js';

/** 16 MiB: a large job or a full node list fits; anything bigger is refused before decoding. */
export const MaxMessageBytes = 16 * 1024 * 1024;

/** grpc-js channel options shared by the server and the API client. */
export const ChannelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MaxMessageBytes,
  'grpc.max_send_message_length': MaxMessageBytes,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

/** Trailer keys carrying the NomadError's code and field. */
export const ErrorCodeKey = 'nomadts-error-code';
export const ErrorFieldKey = 'nomadts-error-field';

/** What a client needs to reach a server over mutual TLS. */
export interface ClientTlsOptions {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The name the server's certificate must carry; default `server.<region>.nomadts`. */
  serverName?: string;
  region?: string;
}

/** Mutual-TLS credentials and channel options for a client of a nomadts server. */
export function clientChannel(opts: ClientTlsOptions): { creds: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  return {
    creds: grpc.credentials.createSsl(Buffer.from(opts.caPem), Buffer.from(opts.keyPem), Buffer.from(opts.certPem)),
    options: { ...ChannelOptions, 'grpc.ssl_target_name_override': opts.serverName ?? `server.${opts.region ?? 'global'}.nomadts` },
  };
}
