// Minimal Parquet writer: PAR1, one PLAIN page per column, Thrift-compact FileMetaData, footer length, PAR1.
#include "tiercel/hsm/parquet.hpp"

#include <cstring>

namespace tiercel::hsm {
namespace {

// Thrift compact protocol: just the parts Parquet metadata needs.
class Compact {
public:
    enum Type : uint8_t { i32 = 5, i64 = 6, binary = 8, list = 9, structure = 12 };

    void field(int16_t id, Type type) {
        int16_t delta = static_cast<int16_t>(id - last_.back());
        if (delta > 0 && delta <= 15) {
            out_.push_back(static_cast<char>((delta << 4) | type));
        } else {
            out_.push_back(static_cast<char>(type));
            varint(zigzag(id));
        }
        last_.back() = id;
    }
    void field_i32(int16_t id, int32_t value) { field(id, i32), varint(zigzag(value)); }
    void field_i64(int16_t id, int64_t value) { field(id, i64), varint(zigzag(value)); }
    void field_string(int16_t id, const std::string& value) { field(id, binary), string(value); }
    void begin_struct(int16_t id) { field(id, structure), last_.push_back(0); }
    void begin_list(int16_t id, Type element, size_t size) {
        field(id, list);
        list_header(element, size);
    }
    void list_header(Type element, size_t size) {
        if (size < 15) {
            out_.push_back(static_cast<char>((size << 4) | element));
        } else {
            out_.push_back(static_cast<char>(0xF0 | element));
            varint(size);
        }
    }
    void begin_element() { last_.push_back(0); }  // a struct inside a list
    void end_struct() {
        out_.push_back(0);
        last_.pop_back();
    }
    void i32_value(int32_t value) { varint(zigzag(value)); }
    void string(const std::string& value) {
        varint(value.size());
        out_ += value;
    }
    std::string take() { return std::move(out_); }

private:
    static uint64_t zigzag(int64_t value) { return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63); }
    void varint(uint64_t value) {
        while (value >= 0x80) {
            out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
            value >>= 7;
        }
        out_.push_back(static_cast<char>(value));
    }
    std::string out_;
    std::vector<int16_t> last_{0};
};

constexpr int32_t type_int64 = 2, type_byte_array = 6;
constexpr int32_t encoding_plain = 0, encoding_rle = 3;

std::string plain_values(const ParquetColumn& column) {
    std::string out;
    auto put_le = [&out](uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i)
            out.push_back(static_cast<char>(value >> (8 * i)));
    };
    if (column.is_string) {
        for (const auto& value : column.strings) {
            put_le(value.size(), 4);
            out += value;
        }
    } else {
        for (int64_t value : column.ints)
            put_le(static_cast<uint64_t>(value), 8);
    }
    return out;
}

std::string page_header(size_t values, size_t bytes) {
    Compact c;
    c.field_i32(1, 0);  // DATA_PAGE
    c.field_i32(2, static_cast<int32_t>(bytes));
    c.field_i32(3, static_cast<int32_t>(bytes));
    c.begin_struct(5);  // DataPageHeader
    c.field_i32(1, static_cast<int32_t>(values));
    c.field_i32(2, encoding_plain);
    c.field_i32(3, encoding_rle);
    c.field_i32(4, encoding_rle);
    c.end_struct();
    c.end_struct();  // closes the PageHeader itself
    return c.take();
}

struct ChunkInfo {
    int64_t offset = 0, size = 0;
};

std::string file_metadata(const std::vector<ParquetColumn>& columns, const std::vector<ChunkInfo>& chunks,
                          int64_t rows) {
    Compact c;
    c.field_i32(1, 1);  // version
    c.begin_list(2, Compact::structure, columns.size() + 1);
    c.begin_element();  // the root
    c.field_string(4, "schema");
    c.field_i32(5, static_cast<int32_t>(columns.size()));
    c.end_struct();
    for (const auto& column : columns) {
        c.begin_element();
        c.field_i32(1, column.is_string ? type_byte_array : type_int64);
        c.field_i32(3, 0);  // REQUIRED
        c.field_string(4, column.name);
        if (column.is_string)
            c.field_i32(6, 0);  // ConvertedType UTF8
        c.end_struct();
    }
    c.field_i64(3, rows);
    c.begin_list(4, Compact::structure, 1);
    c.begin_element();  // RowGroup
    c.begin_list(1, Compact::structure, columns.size());
    int64_t total = 0;
    for (size_t i = 0; i < columns.size(); ++i) {
        const auto& column = columns[i];
        total += chunks[i].size;
        c.begin_element();  // ColumnChunk
        c.field_i64(2, chunks[i].offset);
        c.begin_struct(3);  // ColumnMetaData
        c.field_i32(1, column.is_string ? type_byte_array : type_int64);
        c.begin_list(2, Compact::i32, 2);
        c.i32_value(encoding_plain);
        c.i32_value(encoding_rle);
        c.begin_list(3, Compact::binary, 1);
        c.string(column.name);
        c.field_i32(4, 0);  // UNCOMPRESSED
        c.field_i64(5, rows);
        c.field_i64(6, chunks[i].size);
        c.field_i64(7, chunks[i].size);
        c.field_i64(9, chunks[i].offset);
        c.end_struct();  // ColumnMetaData
        c.end_struct();  // ColumnChunk
    }
    c.field_i64(2, total);
    c.field_i64(3, rows);
    c.end_struct();  // RowGroup
    c.field_string(6, "tiercel " TIERCEL_VERSION);
    c.end_struct();  // FileMetaData
    return c.take();
}

}  // namespace

std::string write_parquet(const std::vector<ParquetColumn>& columns) {
    int64_t rows = columns.empty() ? 0 : static_cast<int64_t>(columns[0].size());
    std::string out = "PAR1";
    std::vector<ChunkInfo> chunks;
    for (const auto& column : columns) {
        auto values = plain_values(column);
        auto header = page_header(column.size(), values.size());
        chunks.push_back({static_cast<int64_t>(out.size()), static_cast<int64_t>(header.size() + values.size())});
        out += header;
        out += values;
    }
    auto metadata = file_metadata(columns, chunks, rows);
    out += metadata;
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>(metadata.size() >> (8 * i)));
    out += "PAR1";
    return out;
}

}  // namespace tiercel::hsm
