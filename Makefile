# The two set-up commands of the README are `make run` and `make test`.
.PHONY: run test train validate bench chat admin migrate clean

run:        ## install, train if needed, start rasa, actions, web chat, staff console, reminders (embedded SQLite)
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

admin:      ## create the first staff-console administrator (asks for a password)
	.venv/bin/python -m integrations.console create-admin --username $${ADMIN:-admin}

migrate:    ## upgrade the database named by DATABASE_URL (default var/intake.db)
	.venv/bin/python -m bot.db.migrate

clean:
	rm -rf models results .rasa var
