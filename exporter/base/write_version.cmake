# cmake -DSOURCE_DIR=<repo> -DOUTPUT=<version.cc> -DVERSION=<x.y.z> [-DREVISION=<rev>] -P this
#
# Writes version.cc (version.cc.in) with git's revision of SOURCE_DIR, or REVISION where the
# sources come without git (the image build passes it). configure_file rewrites OUTPUT only when
# its text changes, so a build at the same commit compiles nothing.
if(NOT REVISION)
  execute_process(COMMAND git rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE REVISION
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT REVISION)
  set(REVISION "unknown")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.cc.in ${OUTPUT} @ONLY)
