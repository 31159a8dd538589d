// The OTLP wire codec: protobuf, JSON and gRPC service definitions for the data model.
export { OtlpDecodeError } from './errors.ts';
export { decodeRequest, encodeRequest, encodeResponse, decodeResponse, type PartialSuccess } from './proto.ts';
export { fromJson, toJson, toJsonObject, responseFromJson, responseToJson } from './json.ts';
export { otlpGrpcServices, otlpGrpcMethodPaths, serverRequest, type OtlpGrpcRequest, type OtlpGrpcResponse } from './grpc.ts';
export { OTLP_SIGNALS, isOtlpSignal, type OtlpSignal } from './signal.ts';
export { decodeRpcStatus, encodeRpcStatus, RETRY_INFO_TYPE, type RpcStatus } from './rpc-status.ts';
