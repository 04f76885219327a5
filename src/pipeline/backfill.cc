#include "pipeline/backfill.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"

namespace freshet::pipeline {

std::string SqlTableName(const std::string& table) {
  size_t dot = table.find('.');
  if (dot == std::string::npos) return QuoteIdentifier(table);
  return QuoteIdentifier(table.substr(0, dot)) + "." + QuoteIdentifier(table.substr(dot + 1));
}

Backfill::Backfill(lake::FileSystem& fs, std::string state_path, std::string watermark_prefix,
                   pg::ChangeSink& downstream, int chunk_rows)
    : fs_(fs),
      state_path_(std::move(state_path)),
      watermark_prefix_(std::move(watermark_prefix)),
      downstream_(downstream),
      chunk_rows_(chunk_rows) {}

Status Backfill::Load() {
  auto text = fs_.Get(state_path_);
  if (!text.ok()) return text.status().Is(Code::kNotFound) ? Status::Ok() : text.status();
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("tables") ||
      !json["tables"].is_array()) {
    return Status::Corruption(
        "{} is not a backfill list (expected {{\"tables\": [\"schema.table\", ...]}}); fix or "
        "delete it (deleting it skips copying the rows of the tables it listed)",
        state_path_);
  }
  tables_.clear();
  for (const auto& table : json["tables"]) {
    if (table.is_string()) tables_.push_back(table.get<std::string>());
  }
  if (!tables_.empty()) {
    spdlog::info("backfill: {} table(s) still to copy: {}", tables_.size(),
                 fmt::join(tables_, ", "));
  }
  return Status::Ok();
}

Status Backfill::Save() { return fs_.Put(state_path_, nlohmann::json{{"tables", tables_}}.dump()); }

Status Backfill::Add(const std::string& table) {
  if (std::find(tables_.begin(), tables_.end(), table) != tables_.end()) return Status::Ok();
  tables_.push_back(table);
  return Save();
}

void Backfill::Restart(const std::string& table) {
  if (active_ && !tables_.empty() && tables_.front() == table) restart_ = true;
}

Status Backfill::Finish(std::string_view how) {
  if (active_) {
    spdlog::info(
        "backfill: {} {} ({} rows copied in {:.1f} s)", tables_.front(), how,
        active_->rows_delivered(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  } else {
    spdlog::info("backfill: {} {}", tables_.front(), how);
  }
  active_.reset();
  last_chunk_lsn_.reset();
  tables_.erase(tables_.begin());
  return Save();
}

Status Backfill::Step(pg::Connection& sql, Lsn durable) {
  if (tables_.empty()) return Status::Ok();
  const std::string& table = tables_.front();
  if (restart_) {
    spdlog::info("backfill: the columns of {} changed during the copy; copying it again", table);
    active_.reset();
    last_chunk_lsn_.reset();
    restart_ = false;
  }
  if (!active_) {
    auto created = pg::TableResnapshot::Create(sql,
                                               {.table = SqlTableName(table),
                                                .chunk_rows = chunk_rows_,
                                                .watermark_prefix = watermark_prefix_},
                                               downstream_);
    if (!created.ok()) {
      auto gone = sql.Query("SELECT to_regclass($1) IS NULL", {SqlTableName(table)});
      if (gone.ok() && gone->GetBool(0, 0).value_or(false)) {
        spdlog::warn("backfill: {} no longer exists at the source; nothing to copy", table);
        return Finish("skipped");
      }
      if (!created.status().Is(Code::kNotFound)) return created.status();
      spdlog::warn(
          "backfill: {} is not copied ({}); its rows from before it joined the pipeline are "
          "missing in the lake until they change. Fix: give it a primary key, or re-snapshot "
          "the pipeline",
          table, created.status().message());
      return Finish("skipped");
    }
    active_ = std::move(created).value();
    started_ = std::chrono::steady_clock::now();
    spdlog::info("backfill: copying the rows of {} (it joined after the initial snapshot)", table);
  }
  if (last_chunk_lsn_) {
    return durable >= *last_chunk_lsn_ ? Finish("copied") : Status::Ok();
  }
  if (active_->chunk_pending() || active_->done()) return Status::Ok();
  Status read = active_->ReadNextChunk(sql);
  if (read.Is(Code::kConflict)) {
    restart_ = true;
    return Status::Ok();
  }
  return read;
}

Status Backfill::OnMessage(pg::LogicalMessage&& message) {
  if (!active_) return downstream_.OnMessage(std::move(message));
  Lsn lsn = message.lsn;
  FRESHET_RETURN_IF_ERROR(active_->OnMessage(std::move(message)));
  if (active_->done() && !last_chunk_lsn_) last_chunk_lsn_ = lsn;
  return Status::Ok();
}

}  // namespace freshet::pipeline
