#include "tiercel/api/body.hpp"

namespace tiercel::api {

Result<nlohmann::json> json_object_body(const RequestContext& request, bool empty_is_object) {
    const std::string& text = request.request.body();
    if (text.empty() && empty_is_object)
        return nlohmann::json::object();
    auto body = nlohmann::json::parse(text, nullptr, false);
    if (body.is_discarded())
        return make_error(Errc::invalid_input, "the request body is not valid JSON");
    if (!body.is_object())
        return make_error(Errc::invalid_input, "the request body must be a JSON object");
    return body;
}

}  // namespace tiercel::api
