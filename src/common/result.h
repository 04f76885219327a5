#pragma once

// Result<T>: a value or the Status that explains why there is none (C++20 has no
// std::expected). Construct from a T or from a non-OK Status; value() on an error is a bug
// and aborts. FRESHET_ASSIGN_OR_RETURN and FRESHET_RETURN_IF_ERROR keep call sites short.

#include <concepts>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"
#include "common/status.h"

namespace freshet {

template <typename T>
class Result;

namespace internal {
// U builds a T and is neither a T, a Status nor a Result (those have their own constructors).
template <typename U, typename T>
concept ConvertibleToValue =
    std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
    !std::is_same_v<std::decay_t<U>, Status> && !std::is_same_v<std::decay_t<U>, Result<T>>;
}  // namespace internal

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> makes no sense");

 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit so `return value;` works.
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor): implicit so `return status;` works.
  Result(Status status) : data_(std::in_place_index<1>, std::move(status)) {
    FRESHET_CHECK(!std::get<1>(data_).ok()) << "a Result was built from an OK Status";
  }
  // NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
  template <internal::ConvertibleToValue<T> U>  // converting, like std::optional
  Result(U&& value) : data_(std::in_place_index<0>, T(std::forward<U>(value))) {}

  bool ok() const { return data_.index() == 0; }

  Status status() const& { return ok() ? Status() : std::get<1>(data_); }
  Status status() && { return ok() ? Status() : std::get<1>(std::move(data_)); }

  const T& value() const& {
    CheckOk();
    return std::get<0>(data_);
  }
  T& value() & {
    CheckOk();
    return std::get<0>(data_);
  }
  T value() && {
    CheckOk();
    return std::get<0>(std::move(data_));
  }
  T value_or(T fallback) const& { return ok() ? std::get<0>(data_) : std::move(fallback); }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckOk() const {
    FRESHET_CHECK(ok()) << "value() of a failed Result: " << std::get<1>(data_).ToString();
  }

  std::variant<T, Status> data_;
};

namespace internal {
inline Status AsStatus(Status s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace freshet

#define FRESHET_CONCAT_INNER(a, b) a##b
#define FRESHET_CONCAT(a, b) FRESHET_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or a Result) from the enclosing function unless OK.
#define FRESHET_RETURN_IF_ERROR(expr)                                          \
  do {                                                                         \
    ::freshet::Status freshet_status_ = ::freshet::internal::AsStatus((expr)); \
    if (!freshet_status_.ok()) return freshet_status_;                         \
  } while (false)

// `FRESHET_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value, or returns its error.
#define FRESHET_ASSIGN_OR_RETURN(lhs, expr) \
  FRESHET_ASSIGN_OR_RETURN_IMPL(FRESHET_CONCAT(freshet_result_, __LINE__), lhs, expr)
// `lhs` is a declaration ("auto x"), so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define FRESHET_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
