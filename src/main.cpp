// cppbx: a SIP PBX. Everything lives in the layers under src/; this file only
// hands the command line to the application.
#include "app/cli.hpp"

int main(int argc, char** argv) { return cppbx::app::run_cli(argc, argv); }
