# apps/write_decks_md.cmake: cmake -DAPP=tessera_app -DOUT=docs/decks.md -P this
set(ENV{OMPI_ALLOW_RUN_AS_ROOT} 1)
set(ENV{OMPI_ALLOW_RUN_AS_ROOT_CONFIRM} 1)
execute_process(COMMAND ${APP} --help-deck all --markdown OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tessera_app --help-deck all --markdown failed (${rc})")
endif()
