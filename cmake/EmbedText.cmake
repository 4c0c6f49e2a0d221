# tiercel_embed_text(OUTPUT file.cpp INPUT file FUNCTION qualified::name)
# Generates a C++ source defining `std::string_view <FUNCTION>()` that returns INPUT's bytes, so a document ships
# inside the binary (docs/openapi.yaml -> tiercel::api::openapi_yaml()). Regenerated when INPUT changes.
function(tiercel_embed_text)
  cmake_parse_arguments(ARG "" "OUTPUT;INPUT;FUNCTION" "" ${ARGN})
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${ARG_INPUT} -DOUTPUT=${ARG_OUTPUT} -DFUNCTION=${ARG_FUNCTION}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_text_script.cmake
    DEPENDS ${ARG_INPUT} ${CMAKE_SOURCE_DIR}/cmake/embed_text_script.cmake
    COMMENT "Embedding ${ARG_INPUT}")
endfunction()
