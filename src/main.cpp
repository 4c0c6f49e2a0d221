// The tiercel binary: everything happens in cli/.
#include "tiercel/cli/cli.hpp"

int main(int argc, char** argv) { return tiercel::cli::run_cli(argc, argv); }
