#pragma once

// Session: the query phase of one authenticated client connection. It turns frontend
// messages (Query, Parse, Bind, Describe, Execute, Close, Sync, Flush, Terminate) into
// statements on the session's DuckDB connection and backend messages, keeping the protocol's
// state: named and unnamed prepared statements and portals, row limits with PortalSuspended,
// skipping to Sync after an error, and the transaction status reported in ReadyForQuery.
// Messages are dispatched from a table keyed by type byte.
//
// Only reads run: statements that would write (INSERT, CREATE, COPY FROM, ATTACH...) get
// 25006; COPY (query) TO STDOUT streams the query's rows in text or CSV format.
// SET/SHOW/RESET of PostgreSQL parameters are answered from SessionParameters. A query that
// names a catalog table the user may not read gets 42501.
//
// Freshness: before a statement is prepared (simple Query: each statement; extended protocol:
// the first Parse or Bind after a Sync) the session's views are brought to the versions the
// catalog names now, or to the watermark of `SET freshet.snapshot = '<LSN>'`. Inside an
// explicit transaction the views stay as they were at its first statement, so every statement
// of a transaction reads the same versions. table_at() and table_changes() calls are rewritten
// into subqueries before DuckDB sees the statement (table_functions.h).
//
// Not thread-safe: one thread drives a Session; other threads reach it only through its
// QueryInterrupter.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/wire.h"
#include "engine/database.h"
#include "server/pgwire/interrupter.h"
#include "server/pgwire/protocol.h"
#include "server/pgwire/session_parameters.h"
#include "server/pgwire/session_tables.h"
#include "server/pgwire/sql_text.h"
#include "server/table_catalog.h"

namespace freshet::server::pgwire {

// Where a Session writes: a buffer it appends messages to, flushed to the client on demand.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual WireWriter& out() = 0;
  // Sends what out() holds and clears it.
  virtual Status Flush() = 0;
};

struct SessionContext {
  engine::Connection* connection = nullptr;
  SessionParameters* parameters = nullptr;
  std::shared_ptr<QueryInterrupter> interrupter;
  Watchdog* watchdog = nullptr;  // may be null: no statement timeout
  SessionTables* tables = nullptr;
};

class Session {
 public:
  explicit Session(SessionContext context);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  // Handles one message. Returns false after Terminate. An error return means the
  // connection must close (a malformed message); SQL errors become ErrorResponses instead.
  Result<bool> Handle(char type, std::string_view body, MessageSink& sink);

  char transaction_status() const;

 private:
  struct Statement;
  struct Portal;
  using Handler = Status (Session::*)(std::string_view body, MessageSink& sink);
  struct Dispatch {
    char type;
    Handler handler;
    bool extended;  // skipped while waiting for Sync after an error
  };
  static const Dispatch kDispatch[];

  Status OnQuery(std::string_view body, MessageSink& sink);
  Status OnParse(std::string_view body, MessageSink& sink);
  Status OnBind(std::string_view body, MessageSink& sink);
  Status OnDescribe(std::string_view body, MessageSink& sink);
  Status OnExecute(std::string_view body, MessageSink& sink);
  Status OnClose(std::string_view body, MessageSink& sink);
  Status OnSync(std::string_view body, MessageSink& sink);
  Status OnFlush(std::string_view body, MessageSink& sink);

  // SQL-level failures: an ErrorResponse, then skip to Sync (extended protocol).
  void SendError(const Status& status, MessageSink& sink);

  Result<std::shared_ptr<Statement>> PrepareStatement(std::string sql,
                                                      std::vector<uint32_t> parameter_types);
  Result<std::unique_ptr<Portal>> BindPortal(std::shared_ptr<Statement> statement,
                                             const BindMessage& bind);
  Status DescribeStatement(const Statement& statement, MessageSink& sink);
  void DescribePortal(const Portal& portal, MessageSink& sink);
  // Runs (first call) and streams up to `max_rows` rows (0: all), then CommandComplete or
  // PortalSuspended.
  Status ExecutePortal(Portal& portal, int32_t max_rows, MessageSink& sink);
  Status RunStatement(Portal& portal, MessageSink& sink);
  // COPY ... TO STDOUT: CopyOutResponse, a CopyData per row, CopyDone, CommandComplete.
  Status CopyOut(Portal& portal, MessageSink& sink);
  Status RunParameterCommand(Portal& portal, MessageSink& sink);
  Status MapPrepareError(const Status& status, std::string_view sql) const;
  void TrackTransaction(const std::string& keyword, bool ok);
  // Brings the views up to date unless pinned by a transaction (see the class comment).
  Status RefreshTables();
  // `sql` with table_at()/table_changes() calls replaced by subqueries. Arguments that are
  // parameters take their values from `portal`; without one (at Parse) such calls read the
  // latest version (to learn the columns) and `parameter_oids` receives their types.
  Result<std::string> RewriteTableCalls(const std::string& sql, const Portal* portal,
                                        std::map<int, uint32_t>* parameter_oids);
  // Checks and applies a new freshet.snapshot value.
  Status SetSnapshot();

  SessionContext context_;
  std::map<std::string, std::shared_ptr<Statement>, std::less<>> statements_;
  std::map<std::string, std::unique_ptr<Portal>, std::less<>> portals_;
  bool skip_until_sync_ = false;
  bool in_transaction_ = false;
  bool transaction_failed_ = false;
  // Views were refreshed since the last Sync (extended protocol: once per Sync).
  bool refreshed_since_sync_ = false;
  // freshet.snapshot changed: refresh even inside a transaction.
  bool snapshot_changed_ = false;
};

}  // namespace freshet::server::pgwire
