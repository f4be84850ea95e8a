"""What runs when ``nbgrader autograde`` grades a submission (``nbgrader_config.py`` wires it in).

    cells              the helpers the notebook's hidden tests call, inside the notebook's kernel
    scores             preprocessors of nbgrader's own process: the sandboxed grading before the kernel
                       runs, each autograded cell's points after it ran
    kernel             nbgrader's Execute with the notebook's kernel fenced (only the autograded cells
                       run): the kernel manager that starts it
    launcher           the kernel's side: it raises the fences of :mod:`autograder.sandbox.confine`,
                       then runs ipykernel
    submitted_outputs  the student's saved outputs kept (safe types only) instead of cleared
    notebook_flag      an unreadable notebook kept aside and the released one graded in its place; the
                       notebook's verdict as its first cell, in the log and as formgrader's flag
    export             ``nbgrader export``'s grades.csv with the autograded and the written points apart
    parallel           ``make nbgrader-autograde WORKERS=N``: nbgrader's autograde of N students at once,
                       resumable, a failing student stopping no other
    gradebook_merge    how it keeps one writer: a student's rows autograded on a copy of the gradebook,
                       merged into ``gradebook.db`` by the driver alone

Nothing here is imported by the grader itself; only ``cells`` runs beside student code.
"""
