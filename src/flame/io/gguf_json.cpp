#include "flame/io/gguf_json.h"

namespace flame::gguf {

nlohmann::json to_json(const Value& value, size_t max_items) {
  switch (value.type()) {
    case ValueType::U8:
    case ValueType::U16:
    case ValueType::U32:
    case ValueType::U64:
      return value.as_uint();
    case ValueType::I8:
    case ValueType::I16:
    case ValueType::I32:
    case ValueType::I64:
      return value.as_int();
    case ValueType::F32:
    case ValueType::F64:
      return value.as_float();
    case ValueType::BOOL:
      return value.as_bool();
    case ValueType::STRING:
      return value.as_string();
    case ValueType::ARRAY:
      break;
  }
  const auto& items = value.items();
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < items.size() && i < max_items; ++i) list.push_back(to_json(items[i], max_items));
  if (items.size() <= max_items) return list;
  return {{"type", "array"},
          {"element_type", value_type_name(value.array_type())},
          {"count", items.size()},
          {"head", std::move(list)}};
}

}  // namespace flame::gguf
