# tiercel_embed_assets(OUTPUT file.cpp ROOT dir)
# Generates a C++ source that holds every file under ROOT as a byte array, looked up by its path relative to ROOT
# (see include/tiercel/api/assets.hpp). Regenerated when any file under ROOT changes.
function(tiercel_embed_assets)
  cmake_parse_arguments(ARG "" "OUTPUT;ROOT" "" ${ARGN})
  file(GLOB_RECURSE asset_files CONFIGURE_DEPENDS ${ARG_ROOT}/*)
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DROOT=${ARG_ROOT} -DOUTPUT=${ARG_OUTPUT} -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets_script.cmake
    DEPENDS ${asset_files} ${CMAKE_SOURCE_DIR}/cmake/embed_assets_script.cmake
    COMMENT "Embedding dashboard assets from ${ARG_ROOT}")
endfunction()
