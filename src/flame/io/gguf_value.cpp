// gguf::Value: construction, typed access with range checks, and short human-readable rendering.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "flame/core/error.h"
#include "flame/io/gguf.h"

namespace flame::gguf {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8:
      return "u8";
    case ValueType::I8:
      return "i8";
    case ValueType::U16:
      return "u16";
    case ValueType::I16:
      return "i16";
    case ValueType::U32:
      return "u32";
    case ValueType::I32:
      return "i32";
    case ValueType::F32:
      return "f32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::U64:
      return "u64";
    case ValueType::I64:
      return "i64";
    case ValueType::F64:
      return "f64";
  }
  return "unknown";
}

namespace {
bool is_unsigned_type(ValueType t) {
  return t == ValueType::U8 || t == ValueType::U16 || t == ValueType::U32 || t == ValueType::U64;
}
bool is_signed_type(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}
[[noreturn]] void wrong_type(const char* op, ValueType actual, const char* wanted) {
  throw ArgumentError(op, fmt::format("metadata value of type {} is not {}", value_type_name(actual), wanted));
}
}  // namespace

Value Value::u8(uint8_t v) {
  return unsigned_of(ValueType::U8, v);
}
Value Value::u16(uint16_t v) {
  return unsigned_of(ValueType::U16, v);
}
Value Value::u32(uint32_t v) {
  return unsigned_of(ValueType::U32, v);
}
Value Value::u64(uint64_t v) {
  return unsigned_of(ValueType::U64, v);
}
Value Value::i8(int8_t v) {
  return signed_of(ValueType::I8, v);
}
Value Value::i16(int16_t v) {
  return signed_of(ValueType::I16, v);
}
Value Value::i32(int32_t v) {
  return signed_of(ValueType::I32, v);
}
Value Value::i64(int64_t v) {
  return signed_of(ValueType::I64, v);
}

Value Value::unsigned_of(ValueType type, uint64_t v) {
  Value out;
  out.type_ = type;
  out.data_ = v;
  return out;
}

Value Value::signed_of(ValueType type, int64_t v) {
  Value out;
  out.type_ = type;
  out.data_ = v;
  return out;
}

Value Value::f32(float v) {
  Value out;
  out.type_ = ValueType::F32;
  out.data_ = static_cast<double>(v);
  return out;
}

Value Value::f64(double v) {
  Value out;
  out.type_ = ValueType::F64;
  out.data_ = v;
  return out;
}

Value Value::boolean(bool v) {
  Value out;
  out.type_ = ValueType::BOOL;
  out.data_ = v;
  return out;
}

Value Value::string(std::string v) {
  Value out;
  out.type_ = ValueType::STRING;
  out.data_ = std::move(v);
  return out;
}

Value Value::array(ValueType element_type, std::vector<Value> items) {
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].type() != element_type)
      throw ArgumentError("gguf::Value::array",
                          fmt::format("item {} has type {} in an array of {}", i, value_type_name(items[i].type()),
                                      value_type_name(element_type)));
  Value out;
  out.type_ = ValueType::ARRAY;
  out.array_type_ = element_type;
  out.data_ = std::move(items);
  return out;
}

Value Value::strings(std::vector<std::string> items) {
  std::vector<Value> values;
  values.reserve(items.size());
  for (auto& s : items) values.push_back(string(std::move(s)));
  return array(ValueType::STRING, std::move(values));
}

Value Value::i32s(const std::vector<int32_t>& items) {
  std::vector<Value> values;
  values.reserve(items.size());
  for (int32_t v : items) values.push_back(i32(v));
  return array(ValueType::I32, std::move(values));
}

Value Value::f32s(const std::vector<float>& items) {
  std::vector<Value> values;
  values.reserve(items.size());
  for (float v : items) values.push_back(f32(v));
  return array(ValueType::F32, std::move(values));
}

bool Value::is_integer() const {
  return is_unsigned_type(type_) || is_signed_type(type_);
}

bool Value::is_float() const {
  return type_ == ValueType::F32 || type_ == ValueType::F64;
}

int64_t Value::as_int() const {
  if (is_signed_type(type_)) return std::get<int64_t>(data_);
  if (is_unsigned_type(type_)) {
    const uint64_t v = std::get<uint64_t>(data_);
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw ArgumentError("gguf::Value::as_int", fmt::format("{} does not fit in int64", v));
    return static_cast<int64_t>(v);
  }
  wrong_type("gguf::Value::as_int", type_, "an integer");
}

uint64_t Value::as_uint() const {
  if (is_unsigned_type(type_)) return std::get<uint64_t>(data_);
  if (is_signed_type(type_)) {
    const int64_t v = std::get<int64_t>(data_);
    if (v < 0) throw ArgumentError("gguf::Value::as_uint", fmt::format("{} is negative", v));
    return static_cast<uint64_t>(v);
  }
  wrong_type("gguf::Value::as_uint", type_, "an integer");
}

double Value::as_float() const {
  if (is_float()) return std::get<double>(data_);
  if (is_signed_type(type_)) return static_cast<double>(std::get<int64_t>(data_));
  if (is_unsigned_type(type_)) return static_cast<double>(std::get<uint64_t>(data_));
  wrong_type("gguf::Value::as_float", type_, "a number");
}

bool Value::as_bool() const {
  if (type_ != ValueType::BOOL) wrong_type("gguf::Value::as_bool", type_, "a bool");
  return std::get<bool>(data_);
}

const std::string& Value::as_string() const {
  if (type_ != ValueType::STRING) wrong_type("gguf::Value::as_string", type_, "a string");
  return std::get<std::string>(data_);
}

ValueType Value::array_type() const {
  if (type_ != ValueType::ARRAY) wrong_type("gguf::Value::array_type", type_, "an array");
  return array_type_;
}

size_t Value::array_size() const {
  return items().size();
}

const std::vector<Value>& Value::items() const {
  if (type_ != ValueType::ARRAY) wrong_type("gguf::Value::items", type_, "an array");
  return std::get<std::vector<Value>>(data_);
}

std::vector<std::string> Value::as_strings() const {
  if (type_ != ValueType::ARRAY || array_type_ != ValueType::STRING)
    wrong_type("gguf::Value::as_strings", type_, "an array of strings");
  std::vector<std::string> out;
  out.reserve(items().size());
  for (const auto& v : items()) out.push_back(v.as_string());
  return out;
}

std::vector<int64_t> Value::as_ints() const {
  const auto& values = items();
  std::vector<int64_t> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(v.as_int());
  return out;
}

std::vector<double> Value::as_floats() const {
  const auto& values = items();
  std::vector<double> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(v.as_float());
  return out;
}

std::string format_value(const Value& value, size_t max_items) {
  switch (value.type()) {
    case ValueType::STRING: {
      const auto& s = value.as_string();
      if (s.size() <= 80) return fmt::format("\"{}\"", s);
      return fmt::format("\"{}...\" ({} bytes)", s.substr(0, 60), s.size());
    }
    case ValueType::BOOL:
      return value.as_bool() ? "true" : "false";
    case ValueType::F32:
    case ValueType::F64:
      return fmt::format("{}", value.as_float());
    case ValueType::ARRAY: {
      std::string out = fmt::format("{}[{}] [", value_type_name(value.array_type()), value.array_size());
      const auto& items = value.items();
      for (size_t i = 0; i < items.size() && i < max_items; ++i)
        out += (i ? ", " : "") + format_value(items[i], max_items);
      if (items.size() > max_items) out += ", ...";
      return out + "]";
    }
    default:
      if (value.type() == ValueType::U64 || value.type() == ValueType::U32 || value.type() == ValueType::U16 ||
          value.type() == ValueType::U8)
        return fmt::format("{}", value.as_uint());
      return fmt::format("{}", value.as_int());
  }
}

}  // namespace flame::gguf
