# The web console (console/: HTML, CSS, ES modules, no build step) embedded
# into cppbx_http_api at build time, so the running PBX serves its pages
# with no file on disk and no network. The file list is globbed with
# CONFIGURE_DEPENDS and every file is a dependency of the generated source:
# adding, removing or editing a console file regenerates it.
file(GLOB_RECURSE CPPBX_CONSOLE_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/console/*)
set(CPPBX_CONSOLE_GENERATED ${CMAKE_BINARY_DIR}/generated/console_assets_data.cpp)
add_custom_command(
  OUTPUT ${CPPBX_CONSOLE_GENERATED}
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR}/console -DOUTPUT=${CPPBX_CONSOLE_GENERATED}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_console.cmake
  DEPENDS ${CPPBX_CONSOLE_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_console.cmake
  COMMENT "Embedding the web console (console/)"
  VERBATIM)
target_sources(cppbx_http_api PRIVATE ${CPPBX_CONSOLE_GENERATED})
