"""The autograder's test catalogue: realistic student bugs and correct rewrites of the reference."""
