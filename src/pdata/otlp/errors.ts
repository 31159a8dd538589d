// The one error the OTLP codec throws: malformed protobuf or JSON. Receivers answer it with
// HTTP 400 / gRPC InvalidArgument, as the Collector does.

export class OtlpDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OtlpDecodeError';
  }
}
