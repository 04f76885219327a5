# Finds the DuckDB C API: DUCKDB_ROOT (environment or cache) or .deps/duckdb from
# scripts/bootstrap. Defines the imported target DuckDB::duckdb.
set(_duckdb_hints "")
if(DEFINED ENV{DUCKDB_ROOT})
  list(APPEND _duckdb_hints "$ENV{DUCKDB_ROOT}")
endif()
if(DUCKDB_ROOT)
  list(APPEND _duckdb_hints "${DUCKDB_ROOT}")
endif()
list(APPEND _duckdb_hints "${PROJECT_SOURCE_DIR}/.deps/duckdb")

find_path(DuckDB_INCLUDE_DIR duckdb.h HINTS ${_duckdb_hints} PATH_SUFFIXES include NO_DEFAULT_PATH)
find_library(DuckDB_LIBRARY duckdb HINTS ${_duckdb_hints} PATH_SUFFIXES lib NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DuckDB
  REQUIRED_VARS DuckDB_LIBRARY DuckDB_INCLUDE_DIR
  FAIL_MESSAGE "DuckDB not found: run scripts/bootstrap, or set DUCKDB_ROOT to a folder with include/duckdb.h and lib/libduckdb.so")

if(DuckDB_FOUND AND NOT TARGET DuckDB::duckdb)
  add_library(DuckDB::duckdb SHARED IMPORTED)
  set_target_properties(DuckDB::duckdb PROPERTIES
    IMPORTED_LOCATION "${DuckDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DuckDB_INCLUDE_DIR}"
    # Deprecated calls stay out of freshet: the chunk API is the supported path.
    INTERFACE_COMPILE_DEFINITIONS "DUCKDB_API_NO_DEPRECATED")
endif()
