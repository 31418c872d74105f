# The two set-up commands of the README are `make run` and `make test`.
.PHONY: run test train validate bench chat clean

run:        ## install, train if needed, start rasa + actions (embedded SQLite)
	scripts/start.sh

test:       ## install, train if needed, run every test
	scripts/test.sh

train:
	scripts/setup.sh && scripts/train.sh

validate:
	.venv/bin/rasa data validate --data nlu/data --domain domain.yml --config config.yml

bench:      ## NLU cross-validation vs baselines, held-out accuracy, latency, memory -> bench/out/*.json
	scripts/setup.sh && scripts/train.sh && .venv/bin/python -m bench.run

chat:       ## talk to the running bot from the terminal
	.venv/bin/python -m integrations.cli_chat

clean:
	rm -rf models results .rasa var
