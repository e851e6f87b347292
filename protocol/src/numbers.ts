// 64-bit fields (seq, times, sizes) decode to plain numbers: every value this protocol
// carries stays far below 2^53, and Long objects would leak into every consumer.
// This module must be imported before gen/custodian.js so that the generated prototypes
// get plain-number defaults too (ES modules evaluate imports in order).
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();
