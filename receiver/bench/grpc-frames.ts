// gRPC's length-prefixed message framing (1 byte compressed flag, 4 bytes big-endian length, message),
// for the bench's OAP peer, which speaks gRPC on node:http2 directly so it can set its own HTTP/2 windows.

/** Splits a stream of DATA chunks into whole gRPC messages, however the chunks fall. */
export class GrpcFrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Feeds one chunk; returns the messages it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    while (this.buffered >= 5) {
      // Only a header split across chunks is joined early; a message is joined once, when it is whole.
      if (this.chunks[0]!.length < 5) this.flatten();
      const flag = this.chunks[0]![0]!;
      if (flag !== 0) throw new Error(`gRPC message with compressed flag ${flag}: this peer reads uncompressed messages only (flag 0)`);
      const length = this.chunks[0]!.readUInt32BE(1);
      if (this.buffered < 5 + length) break;
      const head = this.chunks.length === 1 ? this.chunks[0]! : this.flatten();
      out.push(head.subarray(5, 5 + length));
      const rest = head.subarray(5 + length);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    return out;
  }

  private flatten(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }
}

/** One uncompressed gRPC message frame. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}
