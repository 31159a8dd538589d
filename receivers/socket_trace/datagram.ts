// Datagram protocols (DNS over UDP) on the byte-stream parser interface. A UDP socket's records
// are datagrams, each one whole message with its own peer (an unconnected socket talks to several:
// a resolver's upstream socket, a server's listening one): no stream positions, no reassembly.
// Each datagram is handed to the protocol's parser as a stream of its own, and the messages framed
// from it carry the peer, which also joins their key so that the same transaction id from two
// peers never pairs across them.
import { formatAddress } from './addresses.ts';
import type { ParseStats } from './connection.ts';
import { PeerRecord } from './layout.ts';
import type { ConnectionParser, Framed, MessageSink, Peer, Side } from './protocols/types.ts';
import { ByteStream, type Segment } from './stream.ts';

/** The struct st_peer at `offset` of a data record (undefined when it is cut or not an IP address). */
export function decodePeer(view: DataView, offset: number, available: number): Peer | undefined {
  if (available < PeerRecord.size) return undefined;
  const p = PeerRecord.decode(view, offset);
  const a = formatAddress(p.family, p.addr);
  return a ? { address: a.address, port: p.port, type: a.type } : undefined;
}

/**
 * Parses one datagram on `side`, sending what it frames to `sink` tagged with the peer. Parse
 * outcomes count as on a stream (garbage, holes, errors). Returns false when the parser says the
 * socket leaves the protocol ('stop').
 */
export function feedDatagram(parser: ConnectionParser<unknown, unknown>, sink: MessageSink<unknown, unknown>, stats: ParseStats, side: Side, segment: Segment, peer: Peer): boolean {
  const stream = new ByteStream();
  stream.append({ ...segment, position: 0 });
  const tag = `|${peer.address}|${peer.port}`;
  const tagged: MessageSink<unknown, unknown> = {
    request: (m: Framed<unknown>) => sink.request({ ...m, key: `${String(m.key)}${tag}`, peer }),
    response: (m: Framed<unknown>) => sink.response({ ...m, key: `${String(m.key)}${tag}`, peer }),
    // datagrams are independent: nothing is out of step after a bad one
    desync: () => {},
  };
  let result: string;
  try {
    result = parser.parse(side, stream, tagged);
  } catch {
    stats.errors++;
    result = 'invalid';
  }
  parser.reset(side);
  if (result === 'stop') return false;
  if (result === 'invalid') stats.garbage++;
  else if (result === 'lost') stats.holes++;
  return true;
}
