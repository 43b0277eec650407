from codeharness.cli.main import app

# vLLM starts its engine processes with `spawn`, which imports this module again in each.
if __name__ == "__main__":
    app(prog_name="codeharness")
