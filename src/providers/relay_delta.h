// A streamed delta as the stream relay passes it from a decoder to a sink: a ChatDelta whose
// chunk may be lent rather than copied, and which may carry a run of chunks merged into one.
//
// Why a type of its own: only the OpenAI decoder lends and merges (its ordinary chunks are
// relayed as the upstream's own bytes, and a burst of them is appended to the client's queue
// in one piece); the other decoders, and the core vocabulary (core/chat.h), have no use for
// views into a read buffer. They fill plain ChatDeltas, which StreamDecoder::feed_relay()
// passes on as RelayDeltas with nothing lent.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/chat.h"

namespace bc::providers {

struct RelayDelta : ChatDelta {
  // The upstream's own bytes of the chunk where the decoder read them, instead of a copy in
  // chunk_json: valid only until that decoder is fed again. keep() copies them for a delta
  // that must live longer.
  std::string_view lent_chunk;
  // With a lent chunk, when the upstream framed its event exactly as `data: <chunk>\n\n`: that
  // whole event, which the OpenAI sink then copies in one piece. Same lifetime.
  std::string_view lent_event;
  // How many upstream chunks this delta carries. More than one for a run of ordinary content
  // chunks that one read brought, each framed as the client gets it and differing from the one
  // before only in its content: then lent_event holds all their events back to back,
  // lent_chunk the first chunk, `text` their content joined; such a run has text, and no
  // finish reason or usage.
  std::uint32_t chunks = 1;

  std::string_view chunk() const { return lent_chunk.empty() ? chunk_json : lent_chunk; }
  // Copies a lent chunk into chunk_json. (A merged run is never kept: the forwarder keeps
  // only role-only chunks, which have no text. Kept, it would keep its first chunk only.)
  void keep() {
    if (lent_chunk.empty()) return;
    chunk_json.assign(lent_chunk);
    lent_chunk = {};
    lent_event = {};
  }
};

}  // namespace bc::providers
