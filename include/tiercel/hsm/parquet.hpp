// Contract: a minimal Apache Parquet writer for catalog exports (no Debian package provides one). It writes one row
// group with one uncompressed PLAIN data page per column; columns are REQUIRED INT64 or REQUIRED BYTE_ARRAY
// annotated as UTF-8 strings. The footer is FileMetaData in Thrift's compact protocol. Enough for DuckDB, pandas and
// Spark to read; tests/integration/test_hsm_export.py reads it back with DuckDB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tiercel::hsm {

struct ParquetColumn {
    std::string name;
    bool is_string = false;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    size_t size() const { return is_string ? strings.size() : ints.size(); }
};

// All columns must hold the same number of rows. Returns the file's bytes.
std::string write_parquet(const std::vector<ParquetColumn>& columns);

}  // namespace tiercel::hsm
