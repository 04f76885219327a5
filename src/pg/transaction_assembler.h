#pragma once

// TransactionAssembler: turns decoded pgoutput messages into whole transactions for a
// ChangeSink, resolving relation OIDs through a RelationCache.
//
// Ordinary transactions arrive from PostgreSQL complete and in commit order, so their changes
// pass straight through (Begin → OnBegin, ..., Commit → OnCommit) without being held. Streamed
// transactions (protocol version 2) arrive in pieces, interleaved with others, before they
// commit: they are held in StreamedTransactions, spilled to disk when the held total passes
// the memory limit, replayed at Stream Commit and discarded at Stream Abort. Either way the
// sink sees each committed transaction once, whole, with its commit LSN, end LSN, commit time
// and xid.
//
// Errors: Corruption when the message sequence breaks the protocol (a change outside any
// transaction, a commit without a begin, a stream commit for an unknown xid); NotFound for a
// change to a relation no Relation message described; whatever the sink returns. After an
// error the assembler must be Reset() before the stream resumes. Not thread-safe.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "pg/change_sink.h"
#include "pg/pgoutput.h"
#include "pg/relation_cache.h"
#include "pg/streamed_transaction.h"

namespace freshet::pg {

struct AssemblerOptions {
  // Held bytes of streamed transactions, across all of them, before the largest one is
  // spilled to disk.
  size_t stream_memory_limit_bytes = 64 << 20;
  // Where spill files go; empty means the system temporary folder.
  std::string spill_directory;
};

struct AssemblerStats {
  uint64_t transactions = 0;
  uint64_t streamed_transactions = 0;
  uint64_t aborted_streamed_transactions = 0;
  uint64_t changes = 0;
  uint64_t schema_events = 0;
  uint64_t spills = 0;
  uint64_t spilled_bytes = 0;
  size_t held_bytes = 0;       // streamed changes in memory now
  size_t peak_held_bytes = 0;  // the most ever held at once
};

class TransactionAssembler {
 public:
  TransactionAssembler(AssemblerOptions options, ChangeSink& sink);

  // Decodes one pgoutput message (one XLogData payload) and applies it.
  Status Feed(std::string_view payload);
  // Applies one decoded message.
  Status Apply(PgoutputMessage message);

  // Forgets open and held transactions (the relation cache too): for a reconnect, after which
  // PostgreSQL resends everything from the confirmed position, Relation messages included.
  void Reset();

  bool in_transaction() const { return open_.has_value(); }
  const AssemblerStats& stats() const { return stats_; }
  const RelationCache& relations() const { return relations_; }

 private:
  // Where a data message goes: the open ordinary transaction, or a held streamed one.
  Status Emit(std::optional<Xid> xid, StreamedTransaction::Item item);
  Status FlushBegin();
  Status EnforceMemoryLimit();
  Result<Change> MakeChange(ChangeKind kind, uint32_t relation_oid);

  Status On(BeginMessage&& m);
  Status On(CommitMessage&& m);
  Status On(OriginMessage&& m);
  Status On(RelationMessage&& m);
  Status On(TypeMessage&& m);
  Status On(InsertMessage&& m);
  Status On(UpdateMessage&& m);
  Status On(DeleteMessage&& m);
  Status On(TruncateMessage&& m);
  Status On(MessageMessage&& m);
  Status On(StreamStartMessage&& m);
  Status On(StreamStopMessage&& m);
  Status On(StreamCommitMessage&& m);
  Status On(StreamAbortMessage&& m);

  AssemblerOptions options_;
  ChangeSink& sink_;
  RelationCache relations_;
  AssemblerStats stats_;
  // The ordinary transaction between Begin and Commit; OnBegin waits for the first item so
  // that an Origin message can still fill in the origin.
  std::optional<TransactionInfo> open_;
  bool begin_delivered_ = false;
  // The streamed transaction whose block (Stream Start .. Stream Stop) is being received.
  std::optional<Xid> streaming_xid_;
  std::unordered_map<uint32_t, StreamedTransaction> held_;
};

}  // namespace freshet::pg
