# tiercel_embed_assets(OUTPUT file.cpp WEB dir)
# Builds the dashboard in WEB (package.json, package-lock.json, vite.config.js, index.html, src/) and embeds the
# result into OUTPUT, a C++ source holding every built file as a byte array looked up by its path relative to the
# build's root (include/tiercel/api/assets.hpp). Three steps, each re-run only when its inputs change:
#   1. `npm ci` from the committed lock file, into ${CMAKE_BINARY_DIR}/web (the source tree stays clean);
#   2. `vite build` of WEB into ${CMAKE_BINARY_DIR}/web-dist (content-hashed file names, deterministic output);
#   3. cmake/embed_assets_script.cmake writes OUTPUT, only when its bytes change, so an unchanged dashboard
#      recompiles nothing and ccache sees identical input.
# -DTIERCEL_WEB_DIST=<dir> embeds an already built dist/ instead (builds without npm or network); Node is never
# needed at run time.
set(TIERCEL_WEB_DIST "" CACHE PATH "Embed this prebuilt dashboard (a Vite dist/ directory) instead of building web/")

function(tiercel_embed_assets)
  cmake_parse_arguments(ARG "" "OUTPUT;WEB" "" ${ARGN})
  set(embed_script ${CMAKE_SOURCE_DIR}/cmake/embed_assets_script.cmake)
  if(TIERCEL_WEB_DIST)
    file(GLOB_RECURSE dist_files CONFIGURE_DEPENDS ${TIERCEL_WEB_DIST}/*)
    add_custom_command(
      OUTPUT ${ARG_OUTPUT}
      COMMAND ${CMAKE_COMMAND} -DROOT=${TIERCEL_WEB_DIST} -DOUTPUT=${ARG_OUTPUT} -P ${embed_script}
      DEPENDS ${dist_files} ${embed_script}
      COMMENT "Embedding the prebuilt dashboard from ${TIERCEL_WEB_DIST}")
    return()
  endif()

  find_program(TIERCEL_NPM npm)
  find_program(TIERCEL_NODE node)
  if(NOT TIERCEL_NPM OR NOT TIERCEL_NODE)
    message(FATAL_ERROR "The dashboard is built with Node and npm: run scripts/install-deps.sh (Debian packages "
                        "nodejs and npm), or pass -DTIERCEL_WEB_DIST=<prebuilt dist/ directory>.")
  endif()
  set(node_dir ${CMAKE_BINARY_DIR}/web)
  set(dist_dir ${CMAKE_BINARY_DIR}/web-dist)
  # Copies of the manifest and lock file: npm ci installs next to them, and a changed lock file re-runs it.
  configure_file(${ARG_WEB}/package.json ${node_dir}/package.json COPYONLY)
  configure_file(${ARG_WEB}/package-lock.json ${node_dir}/package-lock.json COPYONLY)
  add_custom_command(
    OUTPUT ${node_dir}/npm-ci.stamp
    COMMAND ${TIERCEL_NPM} ci --no-audit --no-fund --prefer-offline --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${node_dir}/npm-ci.stamp
    DEPENDS ${node_dir}/package.json ${node_dir}/package-lock.json
    WORKING_DIRECTORY ${node_dir}
    COMMENT "Installing the dashboard's build tools (npm ci)"
    VERBATIM)

  file(GLOB_RECURSE web_sources CONFIGURE_DEPENDS ${ARG_WEB}/src/*)
  add_custom_command(
    OUTPUT ${dist_dir}/index.html
    COMMAND ${TIERCEL_NODE} ${node_dir}/node_modules/vite/bin/vite.js build ${ARG_WEB}
            --config ${ARG_WEB}/vite.config.js --outDir ${dist_dir} --emptyOutDir
    DEPENDS ${node_dir}/npm-ci.stamp ${web_sources} ${ARG_WEB}/index.html ${ARG_WEB}/vite.config.js
    WORKING_DIRECTORY ${node_dir}
    COMMENT "Building the dashboard (vite build)"
    VERBATIM)

  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DROOT=${dist_dir} -DOUTPUT=${ARG_OUTPUT} -P ${embed_script}
    DEPENDS ${dist_dir}/index.html ${embed_script}
    COMMENT "Embedding the dashboard from ${dist_dir}"
    VERBATIM)
endfunction()
