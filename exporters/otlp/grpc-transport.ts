// Sends OTLP over gRPC with @grpc/grpc-js, encoding with bpfcol's own OTLP codec: the
// @opentelemetry exporters serialize SDK span/metric/log objects, while a collector forwards
// OTLP data it already holds.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CreateSettings } from '../../src/component/component.ts';
import { grpcTarget, type OtlpConfig } from './config.ts';
import { type ExportSignal, grpcExportMethod, withProfilesHint } from './export-signal.ts';
import type { OtlpTransport } from './exporter.ts';
import { grpcError } from './grpc-errors.ts';

const GZIP = 2; // grpc-js CompressionAlgorithms.gzip
const IDENTITY = 0;

async function credentials(config: OtlpConfig, secure: boolean, configDir: string): Promise<grpc.ChannelCredentials> {
  if (!secure) return grpc.credentials.createInsecure();
  const read = (file: string | undefined) => (file === undefined ? null : readFile(resolve(configDir, file)));
  const [ca, key, cert] = await Promise.all([read(config.tls.ca_file), read(config.tls.key_file), read(config.tls.cert_file)]);
  return grpc.credentials.createSsl(ca, key, cert, { rejectUnauthorized: !config.tls.insecure_skip_verify });
}

export async function grpcTransport<S extends ExportSignal>(signal: S, config: OtlpConfig, settings: CreateSettings): Promise<OtlpTransport<S>> {
  const { target, secure } = grpcTarget(config);
  const options: grpc.ChannelOptions = {
    'grpc.primary_user_agent': 'bpfcol',
    'grpc.default_compression_algorithm': config.compression === 'gzip' ? GZIP : IDENTITY,
  };
  if (config.tls.server_name_override) {
    options['grpc.ssl_target_name_override'] = config.tls.server_name_override;
    options['grpc.default_authority'] = config.tls.server_name_override;
  }
  const client = new grpc.Client(target, await credentials(config, secure, settings.configDir), options);
  const method = grpcExportMethod(signal);
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(config.headers)) {
    const key = name.toLowerCase();
    // gRPC carries `-bin` metadata as bytes (base64 on the wire); grpc-js wants a Buffer for them.
    metadata.set(key, key.endsWith('-bin') ? Buffer.from(value) : value);
  }

  return {
    send(data, abort) {
      return new Promise((resolveSend, reject) => {
        const call = client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          data,
          metadata.clone(),
          { deadline: Date.now() + config.timeout },
          (error, response) =>
            error ? reject(withProfilesHint(signal, grpcError(error, target), error.code === grpc.status.UNIMPLEMENTED)) : resolveSend(response),
        );
        if (abort?.aborted) call.cancel();
        else abort?.addEventListener('abort', () => call.cancel(), { once: true });
      });
    },
    close: () => client.close(),
  };
}
