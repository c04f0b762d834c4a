package main

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// catalogIndex gives the index of the catalog version currently served.
type catalogIndex interface {
	Index() *catalog.Index
}

var errNoCatalog = service.Errorf(http.StatusServiceUnavailable, "catalog_unavailable", "the catalog is not loaded yet; try again in a moment")

// search answers the seed's query (restaurant_name, restaurant_style, vegetarian) and the
// newer filters with a plain JSON array, as the seed did; the total before paging and the
// catalog version travel in headers so old clients keep working.
func (a *api) search(w http.ResponseWriter, r *http.Request) error {
	ix := a.catalog.Index()
	if ix == nil {
		return errNoCatalog
	}
	q, err := catalog.ParseQuery(r.URL.Query())
	if err != nil {
		return queryError(err)
	}
	buf := searchBufs.Get().(*[]byte)
	defer searchBufs.Put(buf)
	var total int
	*buf, total = ix.AppendSearchJSON((*buf)[:0], q, a.now())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Total-Count", strconv.Itoa(total))
	h.Set("X-Catalog-Version", ix.Version())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(*buf)
	return nil
}

// searchBufs holds answer buffers: a search answer is written in one Write from a buffer
// that the next search reuses.
var searchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func queryError(err error) error {
	if qe, ok := err.(*catalog.QueryError); ok {
		return service.Errorf(http.StatusBadRequest, qe.Code, "%s", qe.Message)
	}
	return service.Errorf(http.StatusBadRequest, "invalid_query", "%s", err.Error())
}

// styles lists the styles the search form offers.
func (a *api) styles(w http.ResponseWriter, r *http.Request) error {
	ix := a.catalog.Index()
	if ix == nil {
		return errNoCatalog
	}
	service.WriteJSON(w, http.StatusOK, ix.Styles())
	return nil
}

// restaurant returns one restaurant with its whole menu and whether it is open now.
func (a *api) restaurant(w http.ResponseWriter, r *http.Request) error {
	ix := a.catalog.Index()
	if ix == nil {
		return errNoCatalog
	}
	rest, ok := ix.Restaurant(chi.URLParam(r, "id"))
	if !ok {
		return service.Errorf(http.StatusNotFound, "not_found", "no restaurant with that id")
	}
	service.WriteJSON(w, http.StatusOK, struct {
		*catalog.Restaurant
		OpenNow bool `json:"openNow"`
	}{rest, rest.OpenAt(a.now())})
	return nil
}
