package catalog

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Generate builds a realistic catalog of n restaurants for tests, benchmarks and
// load runs: about a dozen styles with their own names and menus, Tel Aviv,
// Jerusalem and Haifa areas, varied opening hours (some past midnight, some closed
// on Shabbat) and a few Unicode names like "Café Noir". The same n and seed always
// give the same catalog, so benchmark numbers compare across runs.
func Generate(n int, seed int64) *Catalog {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6b61666b61))
	c := &Catalog{Restaurants: make([]Restaurant, 0, n)}
	usedNames := make(map[string]bool, n)
	usedIDs := make(map[string]bool, n)
	branch := map[string]int{} // base name -> branches numbered so far
	for i := 0; i < n; i++ {
		st := &genStyles[rng.IntN(len(genStyles))]
		area := genAreas[rng.IntN(len(genAreas))]
		name := st.names[rng.IntN(len(st.names))]
		if rng.IntN(3) > 0 {
			name = name + " " + st.nouns[rng.IntN(len(st.nouns))]
		}
		// Chains and common names repeat; orders may name a restaurant, so names
		// are made unique the way real listings do it: by branch, then by number.
		if usedNames[lookupKey(name)] {
			name = name + " " + area.name
		}
		if base := name; usedNames[lookupKey(base)] {
			for usedNames[lookupKey(name)] {
				branch[base]++
				name = base + " #" + strconv.Itoa(branch[base]+1)
			}
		}
		usedNames[lookupKey(name)] = true
		id := Slug(name)
		for k := 2; usedIDs[id]; k++ {
			id = Slug(name) + "-" + strconv.Itoa(k)
		}
		usedIDs[id] = true

		r := Restaurant{
			ID:         id,
			Name:       name,
			Style:      st.style,
			Vegetarian: rng.IntN(100) < st.vegPct,
			Delivery:   rng.IntN(100) < 60,
			Area:       area.name,
			Address:    fmt.Sprintf("%s %d, %s", area.streets[rng.IntN(len(area.streets))], 1+rng.IntN(180), area.city),
			Timezone:   area.tz,
			Hours:      genHours[rng.IntN(len(genHours))],
			Rating:     float64(25+rng.IntN(26)) / 10,
			Currency:   area.currency,
		}
		if r.Delivery {
			r.DeliveryMinutes = 15 + 5*rng.IntN(10)
		}
		items := 4 + rng.IntN(5)
		perm := rng.Perm(len(st.menu))
		for k := 0; k < items && k < len(perm); k++ {
			m := st.menu[perm[k]]
			// Prices vary by place but stay round, the way menus print them.
			m.Price = (m.Price*int64(85+rng.IntN(31))/100 + 50) / 100 * 100
			m.ID = "m" + strconv.Itoa(k+1)
			r.Menu = append(r.Menu, m)
		}
		c.Restaurants = append(c.Restaurants, r)
	}
	if err := c.Seal(); err != nil {
		// The tables above are fixed; a failure here is a bug in this file.
		panic("catalog: generated catalog is invalid: " + err.Error())
	}
	return c
}

// Slug makes a restaurant id from a name: ASCII letters and digits joined by
// single dashes, accents dropped ("Café Noir" -> "cafe-noir").
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range fold(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > maxIDLen-8 { // room for a "-123456" uniqueness suffix
		s = strings.TrimRight(s[:maxIDLen-8], "-")
	}
	if s == "" {
		s = "restaurant"
	}
	return s
}

type genStyle struct {
	style  string
	vegPct int
	names  []string
	nouns  []string
	menu   []MenuItem
}

type genArea struct {
	name, city, tz, currency string
	streets                  []string
}

func item(name, desc string, agorot int64, tags ...string) MenuItem {
	return MenuItem{Name: name, Description: desc, Price: agorot, Tags: tags}
}

func hours(spec ...string) Hours {
	var h Hours
	days := map[string]*[]Interval{"mon": &h.Mon, "tue": &h.Tue, "wed": &h.Wed, "thu": &h.Thu, "fri": &h.Fri, "sat": &h.Sat, "sun": &h.Sun}
	for _, s := range spec { // "sun-thu 11:00-23:00"
		f := strings.Fields(s)
		span, times := strings.Split(f[0], "-"), strings.Split(f[1], "-")
		iv, err := NewInterval(times[0], times[1])
		if err != nil {
			panic(err)
		}
		on := false
		for k := 0; k < 14; k++ {
			d := dayNames[k%7]
			if d == span[0] {
				on = true
			}
			if on {
				*days[d] = append(*days[d], iv)
			}
			if on && d == span[len(span)-1] {
				break
			}
		}
	}
	return h
}

var genHours = []Hours{
	hours("mon-sun 11:00-23:00"),
	hours("sun-thu 11:00-23:00", "fri-fri 11:00-15:00", "sat-sat 20:00-24:00"),
	hours("sun-thu 12:00-00:00", "fri-fri 12:00-16:00"),
	hours("mon-sun 18:00-02:00"),
	hours("mon-sat 08:00-16:00"),
	hours("sun-thu 11:30-15:00", "sun-thu 18:30-23:30"),
	hours("mon-sun 00:00-24:00"),
	hours("tue-sun 17:00-01:00"),
	hours("thu-sat 20:00-05:00", "sun-wed 12:00-22:00"),
	hours("sun-fri 07:00-14:00"),
}

var genAreas = []genArea{
	{"Florentin", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Florentin St", "Vital St", "Abarbanel St", "Herzl St"}},
	{"Neve Tzedek", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Shabazi St", "Pines St", "Rokach St"}},
	{"Jaffa", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Yefet St", "Olei Zion St", "Jerusalem Blvd"}},
	{"Old North", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Dizengoff St", "Ben Yehuda St", "Basel St", "Ibn Gabirol St"}},
	{"Lev HaIr", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Allenby St", "Rothschild Blvd", "Nachalat Binyamin St", "Sheinkin St"}},
	{"Kerem HaTeimanim", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"HaKovshim St", "Yishkon St", "Nahaliel St"}},
	{"Ramat Aviv", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Einstein St", "Brodetsky St", "Levanon St"}},
	{"Sarona", "Tel Aviv-Yafo", "Asia/Jerusalem", "ILS", []string{"Kaplan St", "Eliezer Kaplan St", "David Elazar St"}},
	{"Mahane Yehuda", "Jerusalem", "Asia/Jerusalem", "ILS", []string{"Agripas St", "Jaffa Rd", "HaEgoz St"}},
	{"German Colony", "Jerusalem", "Asia/Jerusalem", "ILS", []string{"Emek Refaim St", "Bethlehem Rd"}},
	{"Nahalat Shiva", "Jerusalem", "Asia/Jerusalem", "ILS", []string{"Yoel Moshe Salomon St", "Rivlin St"}},
	{"German Colony Haifa", "Haifa", "Asia/Jerusalem", "ILS", []string{"Ben Gurion Blvd", "Allenby Rd"}},
	{"Hadar", "Haifa", "Asia/Jerusalem", "ILS", []string{"Herzl St", "Masada St", "HaNevi'im St"}},
	// A few branches abroad keep the time-zone and currency paths honest.
	{"Trastevere", "Roma", "Europe/Rome", "EUR", []string{"Via della Lungaretta", "Via del Moro"}},
	{"Le Marais", "Paris", "Europe/Paris", "EUR", []string{"Rue des Rosiers", "Rue Vieille du Temple"}},
}

var genStyles = []genStyle{
	{"Israeli", 40, []string{"Hummus Eliyahu", "Abu Hassan", "Sabich Tchernichovsky", "HaKosem", "Miznon", "Shila", "Dr. Shakshuka", "Falafel Gabai", "Shaked"}, []string{"Bar", "Kitchen", "Grill", "Express"}, []MenuItem{
		item("Hummus masabacha", "Warm chickpeas, tahini, lemon and olive oil", 3800, "vegetarian", "vegan", "gluten-free"),
		item("Sabich in pita", "Fried eggplant, egg, amba and salad", 3200, "vegetarian"),
		item("Shakshuka", "Eggs poached in spicy tomato sauce", 5200, "vegetarian", "spicy", "gluten-free"),
		item("Falafel plate", "Eight falafel balls, tahini, Israeli salad", 4200, "vegetarian", "vegan"),
		item("Shawarma laffa", "Turkey shawarma, tahini, pickles", 5600),
		item("Me'orav Yerushalmi", "Jerusalem mixed grill in pita", 6200, "spicy"),
		item("Malabi", "Rose-water milk pudding", 2400, "vegetarian", "gluten-free"),
		item("Jachnun", "Yemenite pastry, grated tomato, egg, schug", 4400, "vegetarian", "spicy"),
	}},
	{"Italian", 50, []string{"Trattoria da Bruno", "Pasta Mia", "Amore Mio", "Pizzeria Capri", "Osteria Roma", "Café Italia", "Caffè Rialto", "Il Gusto"}, []string{"Pizzeria", "Trattoria", "Bar", "Cucina"}, []MenuItem{
		item("Margherita", "Tomato, fior di latte, basil", 5400, "vegetarian"),
		item("Pizza diavola", "Spicy salami, chili oil", 6400, "spicy"),
		item("Spaghetti carbonara", "Guanciale, pecorino, egg yolk", 6800),
		item("Penne arrabbiata", "Tomato, garlic, chili", 5600, "vegetarian", "vegan", "spicy"),
		item("Risotto ai funghi", "Porcini, parmesan", 7200, "vegetarian", "gluten-free"),
		item("Lasagna", "Beef ragù, béchamel", 7400),
		item("Tiramisù", "Mascarpone, espresso, cocoa", 3800, "vegetarian"),
		item("Insalata caprese", "Tomato, mozzarella, basil", 4600, "vegetarian", "gluten-free"),
	}},
	{"Chinese", 30, []string{"China Town", "Golden Dragon", "Peking Garden", "Jade Palace", "Long Sang", "Wok Republic", "Lucky Panda", "Red Lantern"}, []string{"House", "Kitchen", "Express", "Garden"}, []MenuItem{
		item("Spring rolls", "Four crispy vegetable rolls", 3200, "vegetarian", "vegan"),
		item("Kung pao chicken", "Peanuts, dried chili, Sichuan pepper", 6200, "spicy"),
		item("Mapo tofu", "Silken tofu in chili bean sauce", 5400, "vegetarian", "spicy"),
		item("Sweet and sour chicken", "Pineapple, peppers", 5900),
		item("Peking duck", "Half duck, pancakes, hoisin", 12800),
		item("Vegetable fried rice", "Egg, scallion, seasonal vegetables", 4200, "vegetarian"),
		item("Dan dan noodles", "Minced beef, chili oil, sesame", 5600, "spicy"),
	}},
	{"Japanese", 30, []string{"Sushi Samba", "Ramen Ōsaka", "Izakaya Tora", "Moshi Moshi", "Sakura", "Yakitori Hana"}, []string{"Bar", "House", "Express"}, []MenuItem{
		item("Salmon nigiri", "Two pieces", 2800, "gluten-free"),
		item("Avocado maki", "Eight pieces", 3200, "vegetarian", "vegan"),
		item("Tonkotsu ramen", "Pork broth, chashu, egg", 6400),
		item("Miso ramen", "Miso broth, tofu, corn", 5800, "vegetarian"),
		item("Chicken katsu", "Panko chicken, curry sauce", 6200),
		item("Edamame", "Sea salt", 2200, "vegetarian", "vegan", "gluten-free"),
		item("Spicy tuna roll", "Tuna, sriracha mayo", 4600, "spicy"),
	}},
	{"Indian", 60, []string{"Tandoori", "Mumbai Masala", "Delhi Darbar", "Namaste", "Curry House", "Spice Route"}, []string{"Kitchen", "Express", "House"}, []MenuItem{
		item("Butter chicken", "Tomato, cream, fenugreek", 6600, "gluten-free"),
		item("Chana masala", "Chickpeas, onion, tomato", 4800, "vegetarian", "vegan", "gluten-free"),
		item("Palak paneer", "Spinach, fresh cheese", 5400, "vegetarian", "gluten-free"),
		item("Lamb vindaloo", "Very hot", 7200, "spicy", "gluten-free"),
		item("Garlic naan", "From the tandoor", 1600, "vegetarian"),
		item("Vegetable samosas", "Three, with tamarind chutney", 2600, "vegetarian", "vegan"),
		item("Mango lassi", "Yoghurt, mango", 1800, "vegetarian"),
	}},
	{"Thai", 40, []string{"Thai House", "Bangkok Street", "Siam", "Lemongrass", "Pad Thai Station"}, []string{"Kitchen", "Bar", "Express"}, []MenuItem{
		item("Pad thai", "Rice noodles, tamarind, peanuts", 5600, "gluten-free"),
		item("Green curry", "Coconut, Thai basil, chicken", 6200, "spicy", "gluten-free"),
		item("Tofu red curry", "Coconut, bamboo shoots", 5600, "vegetarian", "vegan", "spicy"),
		item("Tom yum", "Hot and sour shrimp soup", 4800, "spicy"),
		item("Som tam", "Green papaya salad", 4200, "vegan", "vegetarian", "spicy"),
		item("Mango sticky rice", "Coconut cream", 3200, "vegetarian", "vegan", "gluten-free"),
	}},
	{"Mexican", 40, []string{"Jalapeño Cantina", "La Taquería", "El Mariachi", "Taco Loco", "Frida"}, []string{"Cantina", "Bar", "Grill"}, []MenuItem{
		item("Tacos al pastor", "Three corn tortillas, pork, pineapple", 5400, "spicy", "gluten-free"),
		item("Bean burrito", "Black beans, rice, salsa", 4800, "vegetarian", "vegan"),
		item("Chicken quesadilla", "Cheese, peppers", 5200),
		item("Guacamole and chips", "Made to order", 3400, "vegetarian", "vegan", "gluten-free"),
		item("Enchiladas verdes", "Tomatillo sauce, cheese", 5800, "vegetarian", "spicy"),
		item("Churros", "Cinnamon sugar, chocolate", 2800, "vegetarian"),
	}},
	{"French", 30, []string{"Café Noir", "Brasserie Chez Zoé", "Crêperie Étoile", "Le Petit Bistro", "Pâtisserie Belle", "Bistrot Amélie"}, []string{"Bistro", "Café", "Brasserie"}, []MenuItem{
		item("Croque monsieur", "Ham, gruyère, béchamel", 4800),
		item("Quiche lorraine", "Bacon, cream, eggs", 4600),
		item("Ratatouille", "Provençal vegetables", 5200, "vegetarian", "vegan", "gluten-free"),
		item("Crêpe complète", "Buckwheat crêpe, egg, cheese", 4400, "vegetarian", "gluten-free"),
		item("Steak frites", "Entrecôte, pepper sauce", 11800, "gluten-free"),
		item("Crème brûlée", "Vanilla bean", 3400, "vegetarian", "gluten-free"),
		item("Soupe à l'oignon", "Onion soup, cheese crouton", 3900, "vegetarian"),
	}},
	{"American", 20, []string{"Burger Joint", "Diner 24", "Smokehouse", "Brooklyn Bagels", "Big Apple"}, []string{"Grill", "Diner", "Bar"}, []MenuItem{
		item("Classic burger", "220 g beef, cheddar, pickles", 6400),
		item("Veggie burger", "Black bean patty, avocado", 5800, "vegetarian", "vegan"),
		item("Buffalo wings", "Hot sauce, blue cheese dip", 4800, "spicy"),
		item("Mac and cheese", "Three cheeses", 4200, "vegetarian"),
		item("Pulled pork sandwich", "Slow-smoked, slaw", 5900),
		item("Fries", "Sea salt", 1800, "vegetarian", "vegan", "gluten-free"),
	}},
	{"Middle Eastern", 50, []string{"Beirut", "Al Ashi", "Damascus Gate", "Abu Adham", "Fattoush"}, []string{"Grill", "Kitchen", "House"}, []MenuItem{
		item("Mixed mezze", "Hummus, baba ghanoush, labneh, tabbouleh", 6800, "vegetarian"),
		item("Shish kebab", "Lamb skewers, grilled onion", 7800, "gluten-free"),
		item("Mujaddara", "Lentils, rice, fried onion", 3800, "vegetarian", "vegan"),
		item("Knafeh", "Warm cheese pastry, syrup", 3200, "vegetarian"),
		item("Fattoush salad", "Sumac, crispy pita", 3600, "vegetarian", "vegan"),
		item("Musakhan", "Roast chicken, onion, sumac on taboon bread", 6400),
	}},
	{"Georgian", 30, []string{"Tbilisi", "Khachapuri House", "Supra", "Batumi"}, []string{"House", "Kitchen"}, []MenuItem{
		item("Khachapuri adjaruli", "Cheese bread boat, egg, butter", 5400, "vegetarian"),
		item("Khinkali", "Five beef dumplings", 4800),
		item("Mushroom khinkali", "Five dumplings", 4600, "vegetarian", "vegan"),
		item("Badrijani", "Eggplant rolls, walnut paste", 3800, "vegetarian", "vegan", "gluten-free"),
		item("Chakapuli", "Lamb stew, tarragon, plum", 7600, "gluten-free"),
	}},
	{"Ethiopian", 50, []string{"Habesha", "Lalibela", "Addis", "Queen of Sheba"}, []string{"Kitchen", "House"}, []MenuItem{
		item("Doro wat", "Spicy chicken stew, egg, injera", 6200, "spicy"),
		item("Misir wat", "Red lentils, berbere", 4400, "vegetarian", "vegan", "spicy"),
		item("Shiro", "Chickpea stew", 4200, "vegetarian", "vegan"),
		item("Beyaynetu", "Vegan platter on injera", 5800, "vegetarian", "vegan"),
		item("Tibs", "Sautéed beef, rosemary", 6800, "gluten-free"),
	}},
	{"Vegan", 100, []string{"Green Kitchen", "Vegan Shack", "Goodness", "Zakaim", "Meshek Barzilay"}, []string{"Kitchen", "Café", "Bar"}, []MenuItem{
		item("Buddha bowl", "Quinoa, roasted vegetables, tahini", 5400, "vegetarian", "vegan", "gluten-free"),
		item("Seitan shawarma", "In pita, amba", 4800, "vegetarian", "vegan"),
		item("Beyond burger", "Plant patty, vegan cheddar", 6200, "vegetarian", "vegan"),
		item("Cauliflower steak", "Charred, chimichurri", 5600, "vegetarian", "vegan", "gluten-free"),
		item("Raw cacao cake", "Dates, nuts", 3200, "vegetarian", "vegan", "gluten-free"),
	}},
}
