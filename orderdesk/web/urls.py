from django.urls import URLPattern, URLResolver, path

from orderdesk.web.views import auth, orders

urlpatterns: list[URLPattern | URLResolver] = [
    path("", auth.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("checkout/", auth.choose_checkout, name="choose_checkout"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:number>/", orders.order_detail, name="order_detail"),
]
