"""Small news texts for the tests: two events of the same kind (the hard case), and
unrelated news."""

BRIDGE = [
    ("Storm closes Severn Bridge as winds reach 90mph",
     "The Severn Bridge was closed on Tuesday morning after Storm Darragh brought winds of up to 90mph to "
     "south Wales. National Highways said the bridge would stay shut until the gusts eased. Drivers heading "
     "to Bristol were diverted over the Prince of Wales Bridge, causing long queues. The Met Office issued an "
     "amber warning for wind across Wales and south-west England, and Storm Darragh also brought down trees "
     "in Cardiff and Newport."),
    ("Severn Bridge shut by Storm Darragh gales",
     "Storm Darragh forced the closure of the Severn Bridge on Tuesday, National Highways said, as gusts of "
     "90mph battered south Wales. Traffic to Bristol was sent over the Prince of Wales Bridge instead and "
     "queues built up for miles. The Met Office amber warning for wind covers Wales and the south-west of "
     "England. Fallen trees blocked roads in Cardiff, and Newport council opened an emergency centre."),
    ("Drivers face delays after Severn Bridge closure in Storm Darragh",
     "Motorists faced long delays on Tuesday after the Severn Bridge closed because of Storm Darragh. "
     "National Highways said winds of 90mph made the crossing unsafe and diverted traffic to the Prince of "
     "Wales Bridge. The Met Office kept its amber wind warning for Wales in place, while trees fell in "
     "Cardiff and Newport and thousands of homes lost power."),
]

REHAB_REID = ("Tara Reid checks into rehab at Promises clinic",
              "Actress Tara Reid has checked into the Promises treatment centre in Malibu, her publicist "
              "said on Friday. Reid, 32, entered the clinic this week for what her representative called "
              "exhaustion. Tara Reid has starred in American Pie and has been open about her struggles. "
              "Promises has treated many Hollywood stars.")
REHAB_LOHAN = ("Lindsay Lohan checks into rehab at Betty Ford Center",
               "Actress Lindsay Lohan has checked into the Betty Ford Center in Rancho Mirage, her lawyer "
               "said on Thursday. Lohan, 26, began a 90-day stay ordered by a Los Angeles judge after a "
               "probation violation. Lindsay Lohan has starred in Mean Girls. The Betty Ford Center has "
               "treated many Hollywood stars.")

UNRELATED = [
    ("Central bank raises interest rates to 5.5%",
     "The Bank of England raised interest rates to 5.5% on Thursday, its fourteenth increase in a row, as "
     "inflation stayed high. Governor Andrew Bailey said the Bank of England would do what it takes to bring "
     "inflation back to its 2% target. Mortgage lenders said they would pass the rise on to borrowers."),
    ("Arsenal beat Chelsea 3-1 to go top of the Premier League",
     "Arsenal beat Chelsea 3-1 at the Emirates Stadium on Saturday to move top of the Premier League. "
     "Bukayo Saka scored twice and Martin Odegaard added a third before Chelsea pulled one back late on. "
     "Mikel Arteta praised his Arsenal side for their patience."),
]
