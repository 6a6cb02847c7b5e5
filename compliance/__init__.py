"""What the Région checks across organisations: plans submitted before a group starts (R5, R9,
R12, R13, R20–R22, the trainee's week), and the Région's decisions on them."""
