"""Grading a whole class: ``python -m autograder grade-all DIR --out OUT --workers N``.

    batch.py   finds the submissions, grades them in parallel worker processes (one job each: a
               submission and where its results go), resumes a stopped run, writes grades.csv
    changes.py changes.csv and changes.md: whose points a regrade moved, per task, and the checks
    shards.py  --shard K/N (which students a shard grades, from their ids) and merge (the shards'
               folders joined into what one run writes)
    plots.py   summary.png: the histogram of scores and each task's share of lost points

It sits above the grader (:mod:`autograder.grader`), which it runs once per worker; nothing here runs
beside student code. (Deliberately empty of imports: ``python -m autograder.classroom.batch`` starts
each worker, and a package that imported it first would load it twice.)
"""
