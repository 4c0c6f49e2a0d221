// The tiercel binary: everything happens in cli/.
#include "tiercel/cli/cli.hpp"
#include "tiercel/core/allocator.hpp"

int main(int argc, char** argv) {
    tiercel::tune_allocator_for_stripes();
    return tiercel::cli::run_cli(argc, argv);
}
