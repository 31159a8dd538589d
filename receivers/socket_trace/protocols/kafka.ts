// Kafka's wire protocol (requests and responses framed by an int32 size, paired by correlation id:
// clients pipeline requests on a connection). Produce, Fetch and Metadata are decoded far enough
// for topic names, partitions and error codes, in every version current brokers take (Produce
// 3-13, Fetch 4-18, Metadata 1-13: v0 reads like PostgreSQL's startup message and is refused),
// with the flexible versions' compact strings, compact arrays and tagged fields (layouts checked
// against the schemas of kafka-clients 4.1.1); other requests make a span naming the operation.
// Record data is skipped by length, captured or not (it mostly is not: capture_bytes per syscall,
// sendfile never).
//
// A response's layout depends on its request's api key and version (whether its header has tagged
// fields, what its body holds), and the two streams' records need not arrive in that order: the
// parser keeps only the captured start of a response, and describe() decodes it with the request
// it was paired with. Topic ids (Fetch 13+, Produce 13+ carry ids, not names) become names through
// the Metadata responses seen (ids are unique cluster-wide: one table for every connection).
//
// A Java broker reads a request's size (4 bytes) in one read and the rest in the next: on its side
// the kernel recognises the connection in the second read (a request header at stream position
// 4), so that first request arrives without its size and is taken to end with its syscall.
import type { ByteStream } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { consumedExit, framed, type Start, startAt } from './framing.ts';
import { type ConnectionInfo, type ConnectionParser, type Exchange, type MessageSink, ParseError, type ParseResult, type PrivacyOptions, type ProtocolModule, type Side, type SpanDescription } from './types.ts';

export interface KafkaRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId?: string;
  /** Topic names, distinct, as far as captured (Produce, Fetch, Metadata). */
  topics?: string[];
  /** Topic ids (Produce 13+, Fetch 13+, Metadata 10+ by id), 32 hex digits. */
  topicIds?: string[];
  /** The partition, when the request names exactly one. */
  partition?: number;
  /** Records in a Produce request's batches (when every batch header was captured). */
  messageCount?: number;
  /** A Fetch of an incremental fetch session naming no partition: its topics are the session's. */
  incremental?: boolean;
}

export interface KafkaResponse {
  correlationId: number;
  /** The captured start of the response after the correlation id (header tagged fields, then the body), decoded with its request. */
  body: Buffer;
}

/** Api keys decoded beyond the header. */
const PRODUCE = 0;
const FETCH = 1;
const METADATA = 3;
const API_VERSIONS = 18;

/** Bounds of plausible frames (a broker's socket.request.max.bytes defaults to 100 MiB). */
const MAX_REQUEST = 100 * 1024 * 1024;
const MAX_RESPONSE = 1 << 30;
/** Highest api key and version taken for Kafka (keys go to 92 and versions to 18 in Kafka 4.1). */
export const MAX_API_KEY = 127;
export const MAX_API_VERSION = 31;
const MAX_CLIENT_ID = 4096;
/** Request bytes read for topic names; response bytes kept for describe(). */
const REQUEST_WINDOW = 16384;
const RESPONSE_KEEP = 1024;
const METADATA_RESPONSE_KEEP = 8192;
/** Requests remembered by correlation id (their api key) until answered. */
const MAX_OUTSTANDING = 1024;
const MAX_TOPICS = 64;

/** Operation names by api key (the ApiKeys enum of kafka-clients 4.1.1, in snake case). */
const OPERATIONS = (
  'produce fetch list_offsets metadata leader_and_isr stop_replica update_metadata controlled_shutdown offset_commit offset_fetch ' +
  'find_coordinator join_group heartbeat leave_group sync_group describe_groups list_groups sasl_handshake api_versions create_topics ' +
  'delete_topics delete_records init_producer_id offset_for_leader_epoch add_partitions_to_txn add_offsets_to_txn end_txn ' +
  'write_txn_markers txn_offset_commit describe_acls create_acls delete_acls describe_configs alter_configs alter_replica_log_dirs ' +
  'describe_log_dirs sasl_authenticate create_partitions create_delegation_token renew_delegation_token expire_delegation_token ' +
  'describe_delegation_token delete_groups elect_leaders incremental_alter_configs alter_partition_reassignments ' +
  'list_partition_reassignments offset_delete describe_client_quotas alter_client_quotas describe_user_scram_credentials ' +
  'alter_user_scram_credentials vote begin_quorum_epoch end_quorum_epoch describe_quorum alter_partition update_features envelope ' +
  'fetch_snapshot describe_cluster describe_producers broker_registration broker_heartbeat unregister_broker describe_transactions ' +
  'list_transactions allocate_producer_ids consumer_group_heartbeat consumer_group_describe controller_registration ' +
  'get_telemetry_subscriptions push_telemetry assign_replicas_to_dirs list_config_resources describe_topic_partitions ' +
  'share_group_heartbeat share_group_describe share_fetch share_acknowledge add_raft_voter remove_raft_voter update_raft_voter ' +
  'initialize_share_group_state read_share_group_state write_share_group_state delete_share_group_state ' +
  'read_share_group_state_summary streams_group_heartbeat streams_group_describe describe_share_group_offsets ' +
  'alter_share_group_offsets delete_share_group_offsets'
).split(' ');

/** Error names by code (the Errors enum of kafka-clients 4.1.1, from 1; -1 is UNKNOWN_SERVER_ERROR). */
const ERRORS = (
  'OFFSET_OUT_OF_RANGE CORRUPT_MESSAGE UNKNOWN_TOPIC_OR_PARTITION INVALID_FETCH_SIZE LEADER_NOT_AVAILABLE ' +
  'NOT_LEADER_OR_FOLLOWER REQUEST_TIMED_OUT BROKER_NOT_AVAILABLE REPLICA_NOT_AVAILABLE MESSAGE_TOO_LARGE ' +
  'STALE_CONTROLLER_EPOCH OFFSET_METADATA_TOO_LARGE NETWORK_EXCEPTION COORDINATOR_LOAD_IN_PROGRESS ' +
  'COORDINATOR_NOT_AVAILABLE NOT_COORDINATOR INVALID_TOPIC_EXCEPTION RECORD_LIST_TOO_LARGE NOT_ENOUGH_REPLICAS ' +
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND INVALID_REQUIRED_ACKS ILLEGAL_GENERATION INCONSISTENT_GROUP_PROTOCOL ' +
  'INVALID_GROUP_ID UNKNOWN_MEMBER_ID INVALID_SESSION_TIMEOUT REBALANCE_IN_PROGRESS INVALID_COMMIT_OFFSET_SIZE ' +
  'TOPIC_AUTHORIZATION_FAILED GROUP_AUTHORIZATION_FAILED CLUSTER_AUTHORIZATION_FAILED INVALID_TIMESTAMP ' +
  'UNSUPPORTED_SASL_MECHANISM ILLEGAL_SASL_STATE UNSUPPORTED_VERSION TOPIC_ALREADY_EXISTS INVALID_PARTITIONS ' +
  'INVALID_REPLICATION_FACTOR INVALID_REPLICA_ASSIGNMENT INVALID_CONFIG NOT_CONTROLLER INVALID_REQUEST ' +
  'UNSUPPORTED_FOR_MESSAGE_FORMAT POLICY_VIOLATION OUT_OF_ORDER_SEQUENCE_NUMBER DUPLICATE_SEQUENCE_NUMBER ' +
  'INVALID_PRODUCER_EPOCH INVALID_TXN_STATE INVALID_PRODUCER_ID_MAPPING INVALID_TRANSACTION_TIMEOUT ' +
  'CONCURRENT_TRANSACTIONS TRANSACTION_COORDINATOR_FENCED TRANSACTIONAL_ID_AUTHORIZATION_FAILED SECURITY_DISABLED ' +
  'OPERATION_NOT_ATTEMPTED KAFKA_STORAGE_ERROR LOG_DIR_NOT_FOUND SASL_AUTHENTICATION_FAILED UNKNOWN_PRODUCER_ID ' +
  'REASSIGNMENT_IN_PROGRESS DELEGATION_TOKEN_AUTH_DISABLED DELEGATION_TOKEN_NOT_FOUND DELEGATION_TOKEN_OWNER_MISMATCH ' +
  'DELEGATION_TOKEN_REQUEST_NOT_ALLOWED DELEGATION_TOKEN_AUTHORIZATION_FAILED DELEGATION_TOKEN_EXPIRED ' +
  'INVALID_PRINCIPAL_TYPE NON_EMPTY_GROUP GROUP_ID_NOT_FOUND FETCH_SESSION_ID_NOT_FOUND INVALID_FETCH_SESSION_EPOCH ' +
  'LISTENER_NOT_FOUND TOPIC_DELETION_DISABLED FENCED_LEADER_EPOCH UNKNOWN_LEADER_EPOCH UNSUPPORTED_COMPRESSION_TYPE ' +
  'STALE_BROKER_EPOCH OFFSET_NOT_AVAILABLE MEMBER_ID_REQUIRED PREFERRED_LEADER_NOT_AVAILABLE GROUP_MAX_SIZE_REACHED ' +
  'FENCED_INSTANCE_ID ELIGIBLE_LEADERS_NOT_AVAILABLE ELECTION_NOT_NEEDED NO_REASSIGNMENT_IN_PROGRESS ' +
  'GROUP_SUBSCRIBED_TO_TOPIC INVALID_RECORD UNSTABLE_OFFSET_COMMIT THROTTLING_QUOTA_EXCEEDED PRODUCER_FENCED ' +
  'RESOURCE_NOT_FOUND DUPLICATE_RESOURCE UNACCEPTABLE_CREDENTIAL INCONSISTENT_VOTER_SET INVALID_UPDATE_VERSION ' +
  'FEATURE_UPDATE_FAILED PRINCIPAL_DESERIALIZATION_FAILURE SNAPSHOT_NOT_FOUND POSITION_OUT_OF_RANGE UNKNOWN_TOPIC_ID ' +
  'DUPLICATE_BROKER_REGISTRATION BROKER_ID_NOT_REGISTERED INCONSISTENT_TOPIC_ID INCONSISTENT_CLUSTER_ID ' +
  'TRANSACTIONAL_ID_NOT_FOUND FETCH_SESSION_TOPIC_ID_ERROR INELIGIBLE_REPLICA NEW_LEADER_ELECTED ' +
  'OFFSET_MOVED_TO_TIERED_STORAGE FENCED_MEMBER_EPOCH UNRELEASED_INSTANCE_ID UNSUPPORTED_ASSIGNOR STALE_MEMBER_EPOCH ' +
  'MISMATCHED_ENDPOINT_TYPE UNSUPPORTED_ENDPOINT_TYPE UNKNOWN_CONTROLLER_ID UNKNOWN_SUBSCRIPTION_ID ' +
  'TELEMETRY_TOO_LARGE INVALID_REGISTRATION TRANSACTION_ABORTABLE INVALID_RECORD_STATE SHARE_SESSION_NOT_FOUND ' +
  'INVALID_SHARE_SESSION_EPOCH FENCED_STATE_EPOCH INVALID_VOTER_KEY DUPLICATE_VOTER VOTER_NOT_FOUND ' +
  'INVALID_REGULAR_EXPRESSION REBOOTSTRAP_REQUIRED STREAMS_INVALID_TOPOLOGY STREAMS_INVALID_TOPOLOGY_EPOCH ' +
  'STREAMS_TOPOLOGY_FENCED SHARE_SESSION_LIMIT_REACHED '
)
  .trim()
  .split(' ');

export function operationName(apiKey: number): string {
  return OPERATIONS[apiKey] ?? `api_${apiKey}`;
}

export function errorName(code: number): string {
  if (code === -1) return 'UNKNOWN_SERVER_ERROR';
  return ERRORS[code - 1] ?? String(code);
}

/** Whether a request (and, but for ApiVersions, its response) has a flexible header: only the decoded keys matter. */
function flexible(apiKey: number, version: number): boolean {
  switch (apiKey) {
    case PRODUCE:
      return version >= 9;
    case FETCH:
      return version >= 12;
    case METADATA:
      return version >= 9;
    case API_VERSIONS:
      return version >= 3;
  }
  return false;
}

/** Topic names by id, learnt from Metadata responses (ids are unique in a cluster and across clusters). */
const TOPIC_NAMES = new Map<string, string>();
const MAX_TOPIC_IDS = 10000;

function learnTopicId(id: string, name: string): void {
  if (TOPIC_NAMES.get(id) === name) return;
  if (TOPIC_NAMES.size >= MAX_TOPIC_IDS) TOPIC_NAMES.clear();
  TOPIC_NAMES.set(id, name);
}

/** Thrown when a read goes past the captured bytes (one instance: it carries no details). */
const END = new ParseError('past the captured bytes');

/** Reads Kafka's primitive types; every read past the buffer throws END. */
class Reader {
  readonly buf: Buffer;
  at: number;
  readonly compact: boolean;

  constructor(buf: Buffer, at: number, compact: boolean) {
    this.buf = buf;
    this.at = at;
    this.compact = compact;
  }

  #need(n: number): number {
    const at = this.at;
    if (n < 0 || at + n > this.buf.length) throw END;
    this.at = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.#need(1));
  }

  int16(): number {
    return this.buf.readInt16BE(this.#need(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.#need(4));
  }

  int64(): bigint {
    return this.buf.readBigInt64BE(this.#need(8));
  }

  /** Skips n bytes; past the captured ones it throws, as a read would (nothing after them can be read). */
  skip(n: number): void {
    if (n < 0 || this.at + n > this.buf.length) throw END;
    this.at += n;
  }

  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.buf[this.#need(1)]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new ParseError('varint too long');
  }

  uuid(): string {
    const at = this.#need(16);
    return this.buf.toString('hex', at, at + 16);
  }

  /** A (nullable) string: undefined for null. */
  string(): string | undefined {
    const n = this.compact ? this.uvarint() - 1 : this.int16();
    if (n < 0) return undefined;
    const at = this.#need(n);
    return this.buf.toString('utf8', at, at + n);
  }

  /** Length of a (nullable) bytes or records field: -1 for null. */
  bytesLength(): number {
    return this.compact ? this.uvarint() - 1 : this.int32();
  }

  /** Element count of an array: -1 for null. */
  arrayLength(): number {
    const n = this.compact ? this.uvarint() - 1 : this.int32();
    if (n < -1) throw new ParseError('negative array length');
    return n;
  }

  /** Skips an array of fixed-size elements. */
  skipArray(elementSize: number): void {
    const n = this.arrayLength();
    if (n > 0) this.skip(n * elementSize);
  }

  /** Tagged fields (flexible versions only). */
  tagged(): void {
    if (!this.compact) return;
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}

/** Adds a topic (distinct, bounded). */
function addTopic(list: string[], name: string | undefined): void {
  if (name !== undefined && list.length < MAX_TOPICS && !list.includes(name)) list.push(name);
}

/** Records in the record batches of a records field at buf[at, at+length) (v2 batches: count at offset 57); undefined unless every header was captured. */
function countRecords(buf: Buffer, at: number, length: number): number | undefined {
  let count = 0;
  const end = at + length;
  for (let b = at; b < end; ) {
    if (b + 61 > buf.length || buf[b + 16] !== 2) return undefined;
    const batchLength = buf.readInt32BE(b + 8);
    if (batchLength < 49) return undefined;
    count += buf.readInt32BE(b + 57);
    b += 12 + batchLength;
  }
  return count;
}

interface Body {
  topics: string[];
  topicIds: string[];
  partitions: number;
  partition?: number;
  messageCount?: number;
  acks?: number;
  /** Fetch: the session epoch (> 0: an incremental fetch in a session); incremental: it names no partition. */
  epoch?: number;
  incremental?: boolean;
}

function partitionSeen(body: Body, index: number): void {
  body.partitions++;
  body.partition = index;
}

/** Decodes what spans use of a request body; stops quietly where the capture stops. */
function decodeRequestBody(apiKey: number, v: number, r: Reader, body: Body): void {
  try {
    if (apiKey === PRODUCE) {
      if (v >= 3) r.string(); // transactional id
      body.acks = r.int16();
      r.int32(); // timeout
      let messages: number | undefined = 0;
      const topics = r.arrayLength();
      for (let t = 0; t < topics; t++) {
        if (v >= 13) addTopic(body.topicIds, r.uuid());
        else addTopic(body.topics, r.string());
        const partitions = r.arrayLength();
        for (let p = 0; p < partitions; p++) {
          partitionSeen(body, r.int32());
          const length = r.bytesLength();
          if (length > 0) {
            const n: number | undefined = messages === undefined ? undefined : countRecords(r.buf, r.at, length);
            messages = n === undefined || messages === undefined ? undefined : messages + n;
            body.messageCount = messages;
            r.skip(length);
          }
          r.tagged();
        }
        r.tagged();
      }
    } else if (apiKey === FETCH) {
      if (v < 15) r.int32(); // replica id
      r.int32(); // max wait
      r.int32(); // min bytes
      if (v >= 3) r.int32(); // max bytes
      if (v >= 4) r.int8(); // isolation level
      let epoch = -1;
      if (v >= 7) {
        r.int32(); // session id
        epoch = r.int32();
        body.epoch = epoch;
      }
      const topics = r.arrayLength();
      if (topics === 0 && epoch > 0) body.incremental = true;
      for (let t = 0; t < topics; t++) {
        if (v >= 13) addTopic(body.topicIds, r.uuid());
        else addTopic(body.topics, r.string());
        const partitions = r.arrayLength();
        for (let p = 0; p < partitions; p++) {
          partitionSeen(body, r.int32());
          r.skip((v >= 9 ? 4 : 0) + 8 + (v >= 12 ? 4 : 0) + (v >= 5 ? 8 : 0) + 4);
          r.tagged();
        }
        r.tagged();
      }
    } else if (apiKey === METADATA) {
      const topics = r.arrayLength();
      for (let t = 0; t < topics; t++) {
        if (v >= 10) {
          const id = r.uuid();
          const name = r.string();
          if (name === undefined && !/^0+$/.test(id)) addTopic(body.topicIds, id);
          addTopic(body.topics, name);
        } else addTopic(body.topics, r.string());
        r.tagged();
      }
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
  }
}

interface Pending<T> {
  /** Absent: a frame skipped unread. */
  message?: T;
  start: Start;
  /** Bytes of the frame still to skip. */
  remaining: number;
  noResponse?: boolean;
}

export class KafkaParser implements ConnectionParser<KafkaRequest, KafkaResponse> {
  readonly #role: 'client' | 'server';
  #request: Pending<KafkaRequest> | undefined;
  #response: Pending<KafkaResponse> | undefined;
  /** Api keys of requests not answered yet, by correlation id. */
  readonly #outstanding = new Map<number, number>();
  #requestsSeen = false;
  /** After a reset: a response must answer a request seen (its correlation id) to be taken. */
  #responseResync = false;
  #responsesStarted = false;
  /** Topics of the last Fetch naming any (an incremental fetch session's, on this connection). */
  #fetchTopics: { topics?: string[]; topicIds?: string[] } = {};

  constructor(role: 'client' | 'server') {
    this.#role = role;
  }

  reset(side: Side): void {
    if (side === 'request') this.#request = undefined;
    else {
      this.#response = undefined;
      this.#responseResync = true;
    }
  }

  parse(side: Side, stream: ByteStream, out: MessageSink<KafkaRequest, KafkaResponse>): ParseResult {
    return side === 'request' ? this.#requests(stream, out) : this.#responses(stream, out);
  }

  #requests(stream: ByteStream, out: MessageSink<KafkaRequest, KafkaResponse>): ParseResult {
    for (;;) {
      const p = this.#request;
      if (p) {
        p.remaining -= stream.skip(p.remaining);
        if (p.remaining > 0) return 'need-more';
        this.#request = undefined;
        if (!p.message) continue;
        const f = framed(p.message, p.start, consumedExit(stream));
        if (p.noResponse) f.noResponse = true;
        f.key = p.message.correlationId;
        out.request(f);
        continue;
      }
      if (stream.empty) return 'need-more';
      const buf = stream.contiguous(REQUEST_WINDOW);
      if (buf.length === 0) return 'lost';
      const cut = stream.available() > buf.length;
      // A Java broker's side: the first request read without its size (see the top of the file).
      const headerless = !this.#requestsSeen && this.#role === 'server' && stream.position === 4;
      let total: number;
      let at: number;
      if (headerless) {
        const seg = stream.segmentAt(0)!;
        total = seg.position + seg.length - stream.position;
        at = 0;
      } else {
        if (buf.length < 4) return cut ? 'lost' : 'need-more';
        const size = buf.readInt32BE(0);
        if (size < 10 || size > MAX_REQUEST) return 'invalid';
        total = 4 + size;
        at = 4;
      }
      const want = Math.min(total, REQUEST_WINDOW);
      if (buf.length < want && !cut) return 'need-more';
      if (buf.length < at + 10) {
        // The header was not captured (a frame starting at the end of a long write): nothing to
        // pair, skip the frame by its size.
        if (at === 0) return 'lost';
        this.#requestsSeen = true;
        this.#request = { start: startAt(stream), remaining: total - stream.skip(total) };
        continue;
      }
      const frame = buf.subarray(0, Math.min(total, buf.length));
      const apiKey = frame.readInt16BE(at);
      const apiVersion = frame.readInt16BE(at + 2);
      const correlationId = frame.readInt32BE(at + 4);
      const clientIdLength = frame.readInt16BE(at + 8);
      if (apiKey < 0 || apiKey > MAX_API_KEY || apiVersion < 0 || apiVersion > MAX_API_VERSION) return 'invalid';
      // PostgreSQL's StartupMessage (protocol 3.0) reads as Metadata v0, which no current client sends
      if (apiKey === METADATA && apiVersion === 0) return 'invalid';
      if (clientIdLength < -1 || clientIdLength > MAX_CLIENT_ID || at + 10 + Math.max(0, clientIdLength) > total) return 'invalid';
      const message: KafkaRequest = { apiKey, apiVersion, correlationId };
      let noResponse = false;
      const bodyAt = at + 10 + Math.max(0, clientIdLength);
      if (clientIdLength > 0 && bodyAt <= frame.length) message.clientId = frame.toString('utf8', at + 10, bodyAt);
      if (bodyAt < frame.length && (apiKey === PRODUCE || apiKey === FETCH || apiKey === METADATA)) {
        const compact = flexible(apiKey, apiVersion);
        const r = new Reader(frame, bodyAt, compact);
        const body: Body = { topics: [], topicIds: [], partitions: 0 };
        try {
          r.tagged();
          decodeRequestBody(apiKey, apiVersion, r, body);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
        }
        if (body.topics.length) message.topics = body.topics;
        if (body.topicIds.length) message.topicIds = body.topicIds;
        if (body.partitions === 1 && body.partition !== undefined) message.partition = body.partition;
        if (body.messageCount !== undefined) message.messageCount = body.messageCount;
        if (body.acks === 0) noResponse = true; // acks=0: the broker answers nothing
        if (apiKey === FETCH) {
          if (body.incremental) {
            message.incremental = true;
            if (this.#fetchTopics.topics) message.topics = this.#fetchTopics.topics;
            if (this.#fetchTopics.topicIds) message.topicIds = this.#fetchTopics.topicIds;
          } else if (body.topics.length || body.topicIds.length) {
            // a full fetch (epoch 0, or no session) sets the session's topics; an incremental one adds to them
            const session = (body.epoch ?? 0) > 0 ? this.#fetchTopics : {};
            const topics = [...(session.topics ?? [])];
            const ids = [...(session.topicIds ?? [])];
            for (const t of body.topics) addTopic(topics, t);
            for (const id of body.topicIds) addTopic(ids, id);
            this.#fetchTopics = {};
            if (topics.length) this.#fetchTopics.topics = topics;
            if (ids.length) this.#fetchTopics.topicIds = ids;
          }
        }
      }
      this.#requestsSeen = true;
      if (!noResponse) {
        if (this.#outstanding.size >= MAX_OUTSTANDING) this.#outstanding.delete(this.#outstanding.keys().next().value!);
        this.#outstanding.set(correlationId, apiKey);
      }
      const start = startAt(stream);
      const remaining = total - stream.skip(total);
      const pending: Pending<KafkaRequest> = { message, start, remaining };
      if (noResponse) pending.noResponse = true;
      this.#request = pending;
    }
  }

  #responses(stream: ByteStream, out: MessageSink<KafkaRequest, KafkaResponse>): ParseResult {
    if (!this.#responsesStarted) {
      this.#responsesStarted = true;
      // first seen mid-connection (bpfcol started after it): the first read may start mid-response
      if (stream.position > 0) this.#responseResync = true;
    }
    for (;;) {
      const p = this.#response;
      if (p) {
        p.remaining -= stream.skip(p.remaining);
        if (p.remaining > 0) return 'need-more';
        this.#response = undefined;
        if (!p.message) continue;
        const f = framed(p.message, p.start, consumedExit(stream));
        f.key = p.message.correlationId;
        out.response(f);
        continue;
      }
      if (stream.empty) return 'need-more';
      const buf = stream.contiguous(METADATA_RESPONSE_KEEP + 8);
      if (buf.length === 0) return 'lost';
      const cut = stream.available() > buf.length;
      if (buf.length < 8) return cut ? 'lost' : 'need-more';
      const size = buf.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE) return 'invalid';
      const total = 4 + size;
      const correlationId = buf.readInt32BE(4);
      const apiKey = this.#outstanding.get(correlationId);
      if (this.#responseResync && apiKey === undefined) return 'invalid';
      const keep = apiKey === undefined ? RESPONSE_KEEP : apiKey === METADATA ? METADATA_RESPONSE_KEEP : apiKey === PRODUCE || apiKey === FETCH ? RESPONSE_KEEP : 0;
      const want = Math.min(total, 8 + keep);
      if (buf.length < want && !cut) return 'need-more';
      this.#outstanding.delete(correlationId);
      this.#responseResync = false;
      const body = Buffer.from(buf.subarray(8, Math.min(want, buf.length)));
      const start = startAt(stream);
      const remaining = total - stream.skip(total);
      this.#response = { message: { correlationId, body }, start, remaining };
    }
  }
}

export interface DecodedResponse {
  /** The first non-zero error code (top level, then per topic or partition). */
  errorCode?: number;
  /** Produce to one partition: the offset of the first record written. */
  baseOffset?: bigint;
}

/** Decodes what spans use of a response, with its request's api key and version; stops quietly where the capture stops. */
export function decodeResponse(req: KafkaRequest, body: Buffer): DecodedResponse {
  const d: DecodedResponse = {};
  const v = req.apiVersion;
  const compact = flexible(req.apiKey, v) && req.apiKey !== API_VERSIONS;
  const r = new Reader(body, 0, compact);
  const error = (code: number) => {
    if (code !== 0 && d.errorCode === undefined) d.errorCode = code;
  };
  try {
    r.tagged(); // header v1
    if (req.apiKey === PRODUCE) {
      const topics = r.arrayLength();
      let partitionsSeen = 0;
      for (let t = 0; t < topics; t++) {
        if (v >= 13) r.uuid();
        else r.string();
        const partitions = r.arrayLength();
        for (let p = 0; p < partitions; p++) {
          r.int32();
          error(r.int16());
          const base = r.int64();
          if (++partitionsSeen === 1) d.baseOffset = base;
          else delete d.baseOffset;
          if (v >= 2) r.int64(); // log append time
          if (v >= 5) r.int64(); // log start offset
          if (v >= 8) {
            const errors = r.arrayLength();
            for (let e = 0; e < errors; e++) {
              r.int32();
              r.string();
              r.tagged();
            }
            r.string(); // error message
          }
          r.tagged();
        }
        r.tagged();
      }
      if (d.errorCode !== undefined) delete d.baseOffset;
    } else if (req.apiKey === FETCH) {
      if (v >= 1) r.int32(); // throttle time
      if (v >= 7) {
        error(r.int16());
        r.int32(); // session id
      }
      const topics = r.arrayLength();
      for (let t = 0; t < topics && d.errorCode === undefined; t++) {
        if (v >= 13) r.uuid();
        else r.string();
        const partitions = r.arrayLength();
        for (let p = 0; p < partitions && d.errorCode === undefined; p++) {
          r.int32();
          error(r.int16());
          r.skip(8 + (v >= 4 ? 8 : 0) + (v >= 5 ? 8 : 0)); // high watermark, last stable offset, log start offset
          if (v >= 4) {
            const aborted = r.arrayLength();
            for (let a = 0; a < aborted; a++) {
              r.skip(16);
              r.tagged();
            }
          }
          if (v >= 11) r.int32(); // preferred read replica
          const records = r.bytesLength();
          if (records > 0) r.skip(records);
          r.tagged();
        }
        r.tagged();
      }
    } else if (req.apiKey === METADATA) {
      if (v >= 3) r.int32(); // throttle time
      const brokers = r.arrayLength();
      for (let b = 0; b < brokers; b++) {
        r.int32();
        r.string();
        r.int32();
        if (v >= 1) r.string(); // rack
        r.tagged();
      }
      if (v >= 2) r.string(); // cluster id
      if (v >= 1) r.int32(); // controller id
      const topics = r.arrayLength();
      for (let t = 0; t < topics; t++) {
        error(r.int16());
        const name = r.string();
        if (v >= 10) {
          const id = r.uuid();
          if (name !== undefined && !/^0+$/.test(id)) learnTopicId(id, name);
        }
        if (v >= 1) r.int8(); // is internal
        const partitions = r.arrayLength();
        for (let p = 0; p < partitions; p++) {
          error(r.int16());
          r.skip(8 + (v >= 7 ? 4 : 0)); // index, leader, leader epoch
          r.skipArray(4); // replicas
          r.skipArray(4); // in-sync replicas
          if (v >= 5) r.skipArray(4); // offline replicas
          r.tagged();
        }
        if (v >= 8) r.int32(); // authorized operations
        r.tagged();
      }
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
  }
  return d;
}

/** The request's topic names, ids resolved through the Metadata responses seen. */
function topicsOf(req: KafkaRequest): string[] {
  if (!req.topicIds) return req.topics ?? [];
  const names = req.topics ? [...req.topics] : [];
  for (const id of req.topicIds) addTopic(names, TOPIC_NAMES.get(id));
  return names;
}

function describe(e: Exchange<KafkaRequest, KafkaResponse>, c: ConnectionInfo, _privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const decoded = res ? decodeResponse(req, res.body) : {};
  const operation = operationName(req.apiKey);
  const type = req.apiKey === PRODUCE ? 'send' : req.apiKey === FETCH ? 'receive' : undefined;
  const topics = topicsOf(req);
  // one destination, or none (a batch over several topics, or a topic id never resolved)
  const unresolved = req.topicIds?.some((id) => !TOPIC_NAMES.has(id)) === true;
  const destination = topics.length === 1 && !unresolved ? topics[0] : undefined;
  const errorType = decoded.errorCode !== undefined ? errorName(decoded.errorCode) : undefined;
  const a = new Attrs();
  a.common('messaging.system', 'kafka').common('messaging.operation.name', operation).common('messaging.operation.type', type);
  a.common('messaging.destination.name', destination);
  if (destination !== undefined && req.partition !== undefined) a.common('messaging.destination.partition.id', String(req.partition));
  if (req.apiKey === PRODUCE) a.int('messaging.batch.message_count', req.messageCount);
  a.int('messaging.kafka.offset', decoded.baseOffset);
  a.common('messaging.client.id', req.clientId);
  addServerAndPeer(a, c);
  if (c.role === 'server') a.str('client.address', c.clientAddress).int('client.port', c.clientPort);
  a.common('error.type', errorType);
  const server = c.role === 'server';
  const metricAttributes = () =>
    new Attrs()
      .common('messaging.system', 'kafka')
      .common('messaging.operation.name', operation)
      .common('messaging.operation.type', type)
      .common('messaging.destination.name', destination)
      .common('server.address', c.serverAddress)
      .int('server.port', c.serverPort)
      .common('error.type', errorType).list;
  const d: SpanDescription = {
    name: destination !== undefined ? `${operation} ${destination}` : operation,
    attributes: a.list,
    metric: {
      name: server ? 'messaging.server.operation.duration' : 'messaging.client.operation.duration',
      attributes: metricAttributes,
      key: `${req.apiKey}|${destination ?? ''}|${c.serverAddress}|${c.serverPort}|${errorType ?? ''}`,
    },
  };
  if (errorType) d.error = { type: errorType };
  return d;
}

export const kafka: ProtocolModule<KafkaRequest, KafkaResponse> = {
  name: 'kafka',
  matching: 'keyed',
  newParser: (role) => new KafkaParser(role),
  describe,
};
