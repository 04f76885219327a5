#pragma once

// ChangeSink: where decoded transactions go, one call per event, in commit order.
//
// For each committed transaction the sink sees OnBegin, then its schema events, changes and
// transactional logical messages in the order PostgreSQL wrote them, then OnCommit. Nothing is
// delivered for an aborted transaction. Non-transactional logical messages (and schema events
// announced outside a transaction) arrive between transactions. A non-OK Status from any call
// stops the stream and is returned to whoever drives it. Implementations need not be
// thread-safe: one thread calls them.

#include <optional>
#include <vector>

#include "common/result.h"
#include "pg/change.h"

namespace freshet::pg {

class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // info.end_lsn is not yet known here (it is 0/0); info.commit_lsn and commit_time are.
  virtual Status OnBegin(const TransactionInfo& info) = 0;
  virtual Status OnSchemaEvent(const SchemaEvent& event) = 0;
  virtual Status OnChange(Change&& change) = 0;
  virtual Status OnMessage(LogicalMessage&& message) = 0;
  virtual Status OnCommit(const TransactionInfo& info) = 0;
  // The stream broke after OnBegin and before OnCommit: forget that transaction's changes.
  // PostgreSQL sends it again, whole, after the reconnect.
  virtual Status OnRestart() = 0;
};

// A whole transaction, for callers that want them gathered (tests, small tables).
struct Transaction {
  TransactionInfo info;
  std::vector<Change> changes;
  std::vector<SchemaEvent> schema_events;
  std::vector<LogicalMessage> messages;
};

// Gathers committed transactions in memory, and what arrived outside any transaction.
class CollectingSink : public ChangeSink {
 public:
  Status OnBegin(const TransactionInfo& info) override {
    open_ = Transaction{.info = info};
    return Status::Ok();
  }
  Status OnSchemaEvent(const SchemaEvent& event) override {
    (open_ ? open_->schema_events : loose_schema_events).push_back(event);
    return Status::Ok();
  }
  Status OnChange(Change&& change) override {
    if (!open_) return Status::Internal("change outside a transaction");
    open_->changes.push_back(std::move(change));
    return Status::Ok();
  }
  Status OnMessage(LogicalMessage&& message) override {
    (open_ ? open_->messages : loose_messages).push_back(std::move(message));
    return Status::Ok();
  }
  Status OnCommit(const TransactionInfo& info) override {
    if (!open_) return Status::Internal("commit outside a transaction");
    open_->info = info;
    transactions.push_back(std::move(*open_));
    open_.reset();
    return Status::Ok();
  }

  Status OnRestart() override {
    open_.reset();
    return Status::Ok();
  }

  std::vector<Transaction> transactions;
  std::vector<SchemaEvent> loose_schema_events;
  std::vector<LogicalMessage> loose_messages;

 private:
  std::optional<Transaction> open_;
};

}  // namespace freshet::pg
