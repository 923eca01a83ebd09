"""Signals of the list machinery, for higher apps (e.g. activities' notifications) to listen to.

``job_finished(sender=ListJob, job=job)``: a background export or bulk change finished (done or
failed). Lower apps cannot import activities, so they announce instead of notifying.
"""

from django.dispatch import Signal

job_finished = Signal()
